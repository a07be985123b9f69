import { defineConfig } from "vitest/config";

// One project per topology so each can be run alone (npm run test:<name>).
// Integration projects run their files one at a time: each file starts its own
// Redis servers, and the machine has two cores.
const integration = (name: string, timeout: number) => ({
  test: {
    name,
    include: [`test/${name}/**/*.test.ts`],
    testTimeout: timeout,
    hookTimeout: 60_000,
    fileParallelism: false,
    sequence: { concurrent: false },
  },
});

export default defineConfig({
  test: {
    // Kills any redis-server a worker started and did not stop (see test/support/README.md).
    globalSetup: ["test/support/global-setup.ts"],
    projects: [
      { test: { name: "unit", include: ["test/unit/**/*.test.ts"] } },
      integration("standalone", 30_000),
      integration("sentinel", 60_000),
      integration("cluster", 60_000),
    ],
  },
});

import { defineConfig } from "vitest/config";

// One project per topology so each can be run alone (npm run test:<name>).
// Each integration file starts its own Redis servers, so files never share
// state. Two run at a time: they mostly wait on Redis, and the machine has
// two cores. The fault-injection files run afterwards, alone, because they
// assert on failover timings that a busy CPU would stretch.
const FAILOVER = (topology: string) => `test/${topology}/failover.test.ts`;

const integration = (name: string, timeout: number) => ({
  test: {
    name,
    include: [`test/${name}/**/*.test.ts`],
    exclude: [FAILOVER(name)],
    testTimeout: timeout,
    hookTimeout: 60_000,
    maxWorkers: 2,
    sequence: { groupOrder: 0 },
  },
});

const failover = (topology: string, groupOrder: number) => ({
  test: {
    name: `${topology}-failover`,
    include: [FAILOVER(topology)],
    testTimeout: 120_000,
    hookTimeout: 60_000,
    maxWorkers: 1,
    sequence: { groupOrder },
  },
});

export default defineConfig({
  test: {
    // Kills any redis-server a worker started and did not stop (see test/support/README.md).
    globalSetup: ["test/support/global-setup.ts"],
    projects: [
      {
        test: {
          name: "unit",
          include: ["test/unit/**/*.test.ts"],
          maxWorkers: 2,
          sequence: { groupOrder: 0 },
        },
      },
      integration("standalone", 30_000),
      integration("sentinel", 60_000),
      integration("cluster", 60_000),
      failover("sentinel", 1),
      failover("cluster", 2),
    ],
  },
});

import { Redis } from "ioredis";
import { afterAll, beforeAll, describe } from "vitest";
import { type ConformanceTarget, conformanceSuite } from "../conformance.js";
import { type StandaloneTopology, startStandalone } from "../support/index.js";

let topology: StandaloneTopology;
let target: ConformanceTarget;

beforeAll(async () => {
  topology = await startStandalone();
  target = await makeTarget(topology);
});

afterAll(async () => {
  await target?.admin.quit();
  await topology?.stop();
});

describe("standalone conformance", () => {
  conformanceSuite(() => target);
});

async function makeTarget(t: StandaloneTopology): Promise<ConformanceTarget> {
  const admin = new Redis(t.url);
  return {
    kind: "standalone",
    url: t.url,
    admin,
    masters: async () => [admin],
  };
}

import { Redis } from "ioredis";
import { afterAll, beforeAll, describe } from "vitest";
import { type ConformanceTarget, conformanceSuite } from "../conformance.js";
import { type SentinelTopology, startSentinel } from "../support/index.js";

let topology: SentinelTopology;
let target: ConformanceTarget;

beforeAll(async () => {
  topology = await startSentinel();
  target = await makeTarget(topology);
});

afterAll(async () => {
  await target?.admin.quit();
  await topology?.stop();
});

describe("sentinel conformance", () => {
  conformanceSuite(() => target);
});

async function makeTarget(t: SentinelTopology): Promise<ConformanceTarget> {
  const sentinels = t.sentinels.map(({ host, port }) => ({ host, port }));
  const admin = new Redis({ sentinels, name: t.masterName });
  return {
    kind: "sentinel",
    url: t.url,
    admin,
    masters: async () => [admin],
  };
}

import { Redis } from "ioredis";
import { afterAll, beforeAll, describe } from "vitest";
import { type ConformanceTarget, conformanceSuite, variants } from "../conformance.js";
import { type SentinelTopology, startSentinel } from "../support/index.js";

let topology: SentinelTopology;
let target: ConformanceTarget;
const extra: Redis[] = [];

beforeAll(async () => {
  topology = await startSentinel();
  target = makeTarget(topology);
});

afterAll(async () => {
  await target?.admin.quit();
  for (const r of extra.splice(0)) r.disconnect();
  await topology?.stop();
});

for (const variant of variants) {
  describe(`sentinel conformance, ${variant.name}`, () => {
    conformanceSuite(() => target, variant);
  });
}

function makeTarget(t: SentinelTopology): ConformanceTarget {
  const sentinels = t.sentinels.map(({ host, port }) => ({ host, port }));
  const admin = new Redis({ sentinels, name: t.masterName });
  // No failover happens in this file: the data nodes keep their roles, so
  // one connection to each serves every test.
  let nodes: Redis[] | undefined;
  return {
    kind: "sentinel",
    url: t.url,
    admin,
    masters: async () => [admin],
    nodes: async () => {
      if (!nodes) {
        nodes = t.dataNodes.map(({ host, port }) => new Redis({ host, port }));
        extra.push(...nodes);
      }
      return nodes;
    },
    newClient: (auth) => new Redis({ sentinels, name: t.masterName, ...auth }),
  };
}

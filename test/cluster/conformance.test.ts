import { Cluster, Redis } from "ioredis";
import { afterAll, beforeAll, describe } from "vitest";
import { type ConformanceTarget, conformanceSuite } from "../conformance.js";
import { type ClusterTopology, startCluster } from "../support/index.js";

let topology: ClusterTopology;
let target: ConformanceTarget;
const extra: Redis[] = [];

beforeAll(async () => {
  topology = await startCluster();
  target = await makeTarget(topology);
});

afterAll(async () => {
  await target?.admin.quit();
  for (const r of extra.splice(0)) r.disconnect();
  await topology?.stop();
});

describe("cluster conformance", () => {
  conformanceSuite(() => target);
});

async function makeTarget(t: ClusterTopology): Promise<ConformanceTarget> {
  const admin = new Cluster(t.nodes.map(({ host, port }) => ({ host, port })));
  return {
    kind: "cluster",
    url: t.url,
    admin,
    masters: async () => {
      const masters = await t.masters();
      const conns = masters.map(({ host, port }) => new Redis({ host, port }));
      extra.push(...conns);
      return conns;
    },
  };
}

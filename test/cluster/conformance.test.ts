import { Cluster, Redis } from "ioredis";
import { afterAll, beforeAll, describe } from "vitest";
import { type ConformanceTarget, conformanceSuite, variants } from "../conformance.js";
import { type ClusterTopology, startCluster } from "../support/index.js";

let topology: ClusterTopology;
let target: ConformanceTarget;
const extra: Redis[] = [];

beforeAll(async () => {
  topology = await startCluster();
  target = makeTarget(topology);
});

afterAll(async () => {
  await target?.admin.quit();
  for (const r of extra.splice(0)) r.disconnect();
  await topology?.stop();
});

for (const variant of variants) {
  describe(`cluster conformance, ${variant.name}`, () => {
    conformanceSuite(() => target, variant);
  });
}

function makeTarget(t: ClusterTopology): ConformanceTarget {
  const seeds = t.nodes.map(({ host, port }) => ({ host, port }));
  const admin = new Cluster(seeds);
  // No failover or slot move happens in this file: one connection per node
  // (and the master list) serves every test.
  let masters: Promise<Redis[]> | undefined;
  let nodes: Redis[] | undefined;
  const connect = (addrs: Array<{ host: string; port: number }>) => {
    const conns = addrs.map(({ host, port }) => new Redis({ host, port }));
    extra.push(...conns);
    return conns;
  };
  return {
    kind: "cluster",
    url: t.url,
    admin,
    masters: () => {
      masters ??= t.masters().then(connect);
      return masters;
    },
    nodes: async () => {
      nodes ??= connect(t.nodes);
      return nodes;
    },
    newClient: (auth) => new Cluster(seeds, { redisOptions: { ...auth } }),
  };
}

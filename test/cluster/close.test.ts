import { Cluster } from "ioredis";
import { afterAll, beforeAll, describe } from "vitest";
import { closeSuite } from "../fixtures/close-suite.js";
import { type ClusterTopology, startCluster } from "../support/index.js";

let topology: ClusterTopology;

beforeAll(async () => {
  topology = await startCluster();
});

afterAll(async () => {
  await topology?.stop();
});

describe("close() on a cluster", () => {
  closeSuite(() => {
    const first = topology.nodes[0]!;
    return {
      kind: "cluster",
      // The cluster URL, and a plain redis:// to one node (auto-detection's probe must go too).
      urls: [topology.url, `redis://${first.host}:${first.port}`],
      newClient: () => new Cluster(topology.nodes.map(({ host, port }) => ({ host, port }))),
    };
  });
});

import { afterAll, beforeAll, describe } from "vitest";
import { httpSessionSuite } from "../http/flow.js";
import { type ClusterTopology, startCluster } from "../support/index.js";

let topology: ClusterTopology;

beforeAll(async () => {
  topology = await startCluster();
});

afterAll(async () => {
  await topology?.stop();
});

describe("sessions over HTTP on a cluster", () => {
  httpSessionSuite(() => ({ url: topology.url, kind: "cluster" }));
});

import { afterAll, beforeAll, describe } from "vitest";
import { httpSessionSuite } from "../http/flow.js";
import { type SentinelTopology, startSentinel } from "../support/index.js";

let topology: SentinelTopology;

beforeAll(async () => {
  topology = await startSentinel();
});

afterAll(async () => {
  await topology?.stop();
});

describe("sessions over HTTP through Sentinel", () => {
  httpSessionSuite(() => ({ url: topology.url, kind: "sentinel" }));
});

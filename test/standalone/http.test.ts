import { afterAll, beforeAll, describe } from "vitest";
import { examplesSuite } from "../http/examples.js";
import { httpSessionSuite } from "../http/flow.js";
import { type StandaloneTopology, startStandalone } from "../support/index.js";

let topology: StandaloneTopology;

beforeAll(async () => {
  topology = await startStandalone();
});

afterAll(async () => {
  await topology?.stop();
});

describe("sessions over HTTP on a standalone node", () => {
  httpSessionSuite(() => ({ url: topology.url, kind: "standalone" }));
});

describe("the example apps", () => {
  examplesSuite(() => topology.url);
});

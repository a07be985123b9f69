import { Redis } from "ioredis";
import { afterAll, beforeAll, describe } from "vitest";
import { closeSuite } from "../fixtures/close-suite.js";
import { type StandaloneTopology, startStandalone } from "../support/index.js";

let topology: StandaloneTopology;

beforeAll(async () => {
  topology = await startStandalone();
});

afterAll(async () => {
  await topology?.stop();
});

describe("close() on a standalone node", () => {
  closeSuite(() => ({
    kind: "standalone",
    urls: [topology.url],
    newClient: () => new Redis(topology.url),
  }));
});

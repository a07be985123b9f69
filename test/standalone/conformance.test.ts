import { Redis } from "ioredis";
import { afterAll, beforeAll, describe } from "vitest";
import { type ConformanceTarget, conformanceSuite, variants } from "../conformance.js";
import { type StandaloneTopology, startStandalone } from "../support/index.js";

let topology: StandaloneTopology;
let target: ConformanceTarget;

beforeAll(async () => {
  topology = await startStandalone();
  target = makeTarget(topology);
});

afterAll(async () => {
  await target?.admin.quit();
  await topology?.stop();
});

for (const variant of variants) {
  describe(`standalone conformance, ${variant.name}`, () => {
    conformanceSuite(() => target, variant);
  });
}

function makeTarget(t: StandaloneTopology): ConformanceTarget {
  const admin = new Redis(t.url);
  return {
    kind: "standalone",
    url: t.url,
    admin,
    masters: async () => [admin],
    nodes: async () => [admin],
    newClient: (auth) => new Redis(t.url, { ...auth }),
  };
}

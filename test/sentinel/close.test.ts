import { Redis } from "ioredis";
import { afterAll, beforeAll, describe } from "vitest";
import { closeSuite } from "../fixtures/close-suite.js";
import { type SentinelTopology, startSentinel } from "../support/index.js";

let topology: SentinelTopology;

beforeAll(async () => {
  topology = await startSentinel();
});

afterAll(async () => {
  await topology?.stop();
});

describe("close() through Sentinel", () => {
  closeSuite(() => {
    const first = topology.sentinels[0]!;
    return {
      kind: "sentinel",
      // The sentinel URL, and a plain redis:// to one sentinel (auto-detection's probe must go too).
      urls: [topology.url, `redis://${first.host}:${first.port}`],
      newClient: () =>
        new Redis({
          sentinels: topology.sentinels.map(({ host, port }) => ({ host, port })),
          name: topology.masterName,
        }),
    };
  });
});

import { Redis } from "ioredis";
import { Redis as ValkeyRedis } from "iovalkey";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RedisStore, TopologyError } from "../../src/index.js";
import { runCloseFixture } from "../fixtures/close-suite.js";
import { trackPerTest } from "../helpers/cleanup.js";
import { type SentinelTopology, startSentinel, startStandalone } from "../support/index.js";

let topology: SentinelTopology;
const tracked = trackPerTest();

beforeAll(async () => {
  topology = await startSentinel();
});

afterAll(async () => {
  await topology?.stop();
});

const sentinels = () => topology.sentinels.map(({ host, port }) => ({ host, port }));
const track = (s: RedisStore) => tracked.store(s);

async function exercise(store: RedisStore): Promise<void> {
  await store.set("a", { cookie: {}, v: 1 } as never);
  expect(await store.get("a")).toMatchObject({ v: 1 });
  expect(await store.length()).toBe(1);
  expect(store.topology).toBe("sentinel");
}

describe("sentinel topology", () => {
  it("connects with a redis-sentinel:// URL and writes to the master", async () => {
    const store = track(new RedisStore({ url: topology.url, prefix: "url:" }));
    await exercise(store);
    const master = await topology.currentMaster();
    const direct = new Redis({ host: master.host, port: master.port });
    tracked.client(direct);
    expect(await direct.exists("url:a")).toBe(1);
  });

  it("detects a sentinel behind redis:// and finds its only master", async () => {
    const s = topology.sentinels[0]!;
    const store = track(new RedisStore({ url: `redis://${s.host}:${s.port}`, prefix: "auto:" }));
    await exercise(store);
  });

  it("connects with the sentinel option group", async () => {
    const store = track(
      new RedisStore({ sentinel: { sentinels: sentinels(), name: topology.masterName } }),
    );
    await exercise(store);
  });

  it("adopts a sentinel-backed client (ioredis and iovalkey)", async () => {
    const client = new Redis({ sentinels: sentinels(), name: topology.masterName });
    tracked.client(client);
    await exercise(track(new RedisStore({ client, prefix: "adopt:" })));
    const valkey = new ValkeyRedis({ sentinels: sentinels(), name: topology.masterName });
    tracked.client(valkey);
    await exercise(track(new RedisStore({ client: valkey, prefix: "valkey:" })));
  });

  it("refuses a sentinel URL without a master name, and a wrong name", async () => {
    const s = topology.sentinels[0]!;
    expect(() => new RedisStore({ url: `redis-sentinel://${s.host}:${s.port}` })).toThrow(
      /no master group.*#mymaster/,
    );
    const store = track(
      new RedisStore({
        url: `redis-sentinel://${s.host}:${s.port}#nosuchmaster`,
        redisOptions: { sentinelMaxConnections: 1, sentinelRetryStrategy: () => null },
      } as never),
    );
    const err = await store.get("a").catch((e: unknown) => e);
    expect(err).toMatchObject({ code: "ERR_CONNECTION" });
  });
});

describe("a sentinel that monitors several masters", () => {
  const SECOND = "second";

  it("fails detection without a master name, and a closed store lets the process exit", async () => {
    // A second group on the first sentinel only, for the length of this test.
    const other = await startStandalone();
    const s = topology.sentinels[0]!;
    const sentinel = tracked.client(new Redis({ host: s.host, port: s.port }));
    try {
      await sentinel.call("SENTINEL", "MONITOR", SECOND, other.node.host, other.node.port, 2);
      const url = `redis://${s.host}:${s.port}`;

      const store = track(new RedisStore({ url }));
      const err = await store.get("a").catch((e: unknown) => e);
      expect(err).toBeInstanceOf(TopologyError);
      expect(err).toMatchObject({ code: "ERR_TOPOLOGY", message: /2 masters/ });
      expect((err as Error).message).toContain(topology.masterName);
      expect((err as Error).message).toContain(SECOND);

      // The probe that found the sentinel must not outlive the failed detection.
      const result = await runCloseFixture(url, "fail");
      expect(result.stdout).toContain("first operation failed with ERR_TOPOLOGY");
      expect(result.stderr).not.toContain("still running");
      expect(result.code, result.stderr).toBe(0);
    } finally {
      await sentinel.call("SENTINEL", "REMOVE", SECOND).catch(() => {});
      await other.stop();
    }
  });
});

import { Redis } from "ioredis";
import { Redis as ValkeyRedis } from "iovalkey";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RedisStore } from "../../src/index.js";
import { trackPerTest } from "../helpers/cleanup.js";
import { type SentinelTopology, startSentinel } from "../support/index.js";

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

import { Redis } from "ioredis";
import { Redis as ValkeyRedis } from "iovalkey";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AuthenticationError, RedisStore } from "../../src/index.js";
import { trackPerTest } from "../helpers/cleanup.js";
import { type StandaloneTopology, startStandalone } from "../support/index.js";

let topology: StandaloneTopology;
let secured: StandaloneTopology;
const tracked = trackPerTest();

beforeAll(async () => {
  [topology, secured] = await Promise.all([
    startStandalone(),
    startStandalone({ user: "app", password: "s3cret" }),
  ]);
});

afterAll(async () => {
  await Promise.all([topology?.stop(), secured?.stop()]);
});

const track = (s: RedisStore) => tracked.store(s);

describe("standalone topology", () => {
  it("detects a standalone node behind redis://", async () => {
    const store = track(new RedisStore({ url: topology.url }));
    await store.set("a", { cookie: {} } as never);
    expect(store.topology).toBe("standalone");
  });

  it("takes connect-redis' host/port shorthand and REDIS_URL", async () => {
    const { host, port } = topology.node;
    const a = track(new RedisStore({ host, port, prefix: "short:" }));
    await a.set("a", { cookie: {} } as never);
    expect(await a.length()).toBe(1);
    process.env.REDIS_URL = topology.url;
    try {
      const b = track(new RedisStore({ prefix: "env:" }));
      await b.set("b", { cookie: {} } as never);
      expect(await b.length()).toBe(1);
    } finally {
      delete process.env.REDIS_URL;
    }
  });

  it("adopts ioredis and iovalkey clients and never quits them", async () => {
    const { host, port } = topology.node;
    for (const client of [new Redis({ host, port }), new ValkeyRedis({ host, port })]) {
      tracked.client(client);
      const store = new RedisStore({ client, prefix: "adopt:" });
      await store.set("a", { cookie: {} } as never);
      expect(store.topology).toBe("standalone");
      await store.clear();
      await store.close();
      expect(await client.ping()).toBe("PONG");
    }
  });

  it("reconnects a client it built that ioredis ended on its own", async () => {
    const store = track(new RedisStore({ url: topology.url, prefix: "revive:" }));
    await store.set("a", { cookie: {}, v: 1 } as never);
    const client = store.client!;
    const ended = new Promise<void>((resolve) => client.once("end", () => resolve()));
    // What ioredis 6 does to a Sentinel client when a failover interrupts a reconnect.
    client.disconnect();
    await ended;
    expect(await store.get("a")).toMatchObject({ v: 1 });
    expect(client.status).toBe("ready");
  });

  it("connects with an ACL user and password", async () => {
    const store = track(new RedisStore({ url: secured.url }));
    await store.set("a", { cookie: {}, ok: 1 } as never);
    expect(await store.get("a")).toMatchObject({ ok: 1 });
  });

  it("fails the first operation promptly with ERR_AUTH on wrong or missing credentials", async () => {
    const { host, port } = secured.node;
    for (const url of [`redis://app:wrong@${host}:${port}`, `redis://${host}:${port}`]) {
      const store = track(new RedisStore({ url, topology: "standalone" }));
      const started = Date.now();
      const err = await store.get("a").catch((e: unknown) => e);
      expect(err).toBeInstanceOf(AuthenticationError);
      expect(err).toMatchObject({ code: "ERR_AUTH" });
      expect(Date.now() - started).toBeLessThan(5_000);
    }
    // Topology detection fails the same way.
    const auto = track(new RedisStore({ url: `redis://app:wrong@${host}:${port}` }));
    await expect(auto.get("a")).rejects.toMatchObject({ code: "ERR_AUTH" });
  });
});

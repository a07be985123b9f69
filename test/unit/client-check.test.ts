import { Cluster, Redis } from "ioredis";
import { Cluster as ValkeyCluster, Redis as ValkeyRedis } from "iovalkey";
import { createClient, createCluster } from "redis";
import { describe, expect, it } from "vitest";
import { RedisStore } from "../../src/index.js";
import { assertCompatibleClient } from "../../src/topology/client-check.js";

// No server: the check happens at construction, before any command. Ports
// point nowhere because nothing connects (lazyConnect, node-redis unopened).
const NOWHERE = { host: "127.0.0.1", port: 1 };

function refusal(client: unknown): TypeError & { code?: string } {
  try {
    new RedisStore({ client: client as never });
  } catch (err) {
    return err as TypeError & { code?: string };
  }
  throw new Error("expected new RedisStore({ client }) to throw");
}

describe("client must be ioredis-compatible", () => {
  it.each([
    ["a node-redis client", () => createClient({ url: "redis://127.0.0.1:1" })],
    [
      "a node-redis cluster client",
      () => createCluster({ rootNodes: [{ url: "redis://127.0.0.1:1" }] }),
    ],
    ["a plain object", () => ({})],
    // The shape the public CompatibleClient type asks for, with nothing behind it.
    [
      "a plain object",
      () => ({ status: "ready", options: {}, pipeline() {}, getBuffer() {}, on() {} }),
    ],
    ["an instance of SessionCache", () => new (class SessionCache {})()],
    ["an array", () => []],
  ])("refuses %s at construction with ERR_CONFIG", (what, make) => {
    const err = refusal(make());
    expect(err).toBeInstanceOf(TypeError);
    expect(err.code).toBe("ERR_CONFIG");
    expect(err.message).toContain(`got ${what}.`);
    expect(err.message).toMatch(
      /Expected `client` to be an ioredis \(or iovalkey\) Redis or Cluster/,
    );
    expect(err.message).toMatch(/`url`/);
  });

  it("names a string without echoing it (it may be a URL holding a password)", () => {
    expect(() => assertCompatibleClient("redis://u:Zx9q@h")).toThrow(
      /got a string \(a connection URL goes in `url`\)/,
    );
    expect(() => assertCompatibleClient("redis://u:Zx9q@h")).not.toThrow(/Zx9q/);
  });

  it.each([
    ["an ioredis Redis", "standalone", () => new Redis({ ...NOWHERE, lazyConnect: true })],
    ["an ioredis Cluster", "cluster", () => new Cluster([NOWHERE], { lazyConnect: true })],
    [
      "a sentinel-backed ioredis Redis",
      "sentinel",
      () => new Redis({ sentinels: [NOWHERE], name: "mymaster", lazyConnect: true }),
    ],
    ["an iovalkey Redis", "standalone", () => new ValkeyRedis({ ...NOWHERE, lazyConnect: true })],
    ["an iovalkey Cluster", "cluster", () => new ValkeyCluster([NOWHERE], { lazyConnect: true })],
    [
      "a sentinel-backed iovalkey Redis",
      "sentinel",
      () => new ValkeyRedis({ sentinels: [NOWHERE], name: "mymaster", lazyConnect: true }),
    ],
  ])("accepts %s", async (_what, topology, make) => {
    const client = make();
    try {
      const store = new RedisStore({ client: client as never });
      expect(store.topology).toBe(topology);
      expect(store.client).toBe(client);
      await store.close();
    } finally {
      client.disconnect();
    }
  });
});

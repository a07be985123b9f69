import { Cluster } from "ioredis";
import { Cluster as ValkeyCluster } from "iovalkey";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConfigurationError, RedisStore } from "../../src/index.js";
import { trackPerTest } from "../helpers/cleanup.js";
import { type ClusterTopology, startCluster } from "../support/index.js";
import { waitFor } from "../support/wait.js";

let topology: ClusterTopology;
const tracked = trackPerTest();

beforeAll(async () => {
  topology = await startCluster();
});

afterAll(async () => {
  await topology?.stop();
});

const seed = () => topology.nodes[0]!;
const track = (s: RedisStore) => tracked.store(s);

async function exercise(store: RedisStore, n = 300): Promise<void> {
  const sids = Array.from({ length: n }, (_, i) => `s${i}`);
  await Promise.all(sids.map((sid) => store.set(sid, { cookie: {}, sid } as never)));
  expect(await store.length()).toBe(n);
  expect(await store.get("s7")).toMatchObject({ sid: "s7" });
}

describe("cluster topology", () => {
  it("detects a cluster behind a plain redis:// address (topology auto)", async () => {
    const store = track(
      new RedisStore({ url: `redis://${seed().host}:${seed().port}`, prefix: "auto:" }),
    );
    await exercise(store);
    expect(store.topology).toBe("cluster");
    // Hash-tagged keys: one slot per session, spread over every master.
    const admin = new Cluster([{ host: seed().host, port: seed().port }]);
    tracked.client(admin);
    expect(await admin.exists("auto:{s1}")).toBe(1);
  });

  it("builds a cluster client from topology: 'cluster' and from the option group", async () => {
    const a = track(
      new RedisStore({
        url: `redis://${seed().host}:${seed().port}`,
        topology: "cluster",
        prefix: "forced:",
      }),
    );
    await exercise(a, 50);
    expect(a.topology).toBe("cluster");
    const b = track(
      new RedisStore({
        cluster: { nodes: topology.nodes.map((n) => `${n.host}:${n.port}`) },
        prefix: "group:",
      }),
    );
    await exercise(b, 50);
  });

  it("adopts a Cluster client without quitting it, unless closeClient", async () => {
    const client = new Cluster([{ host: seed().host, port: seed().port }]);
    tracked.client(client);
    const store = new RedisStore({ client, prefix: "adopt:" });
    await exercise(store, 50);
    expect(store.topology).toBe("cluster");
    await store.clear();
    await store.close();
    expect(await client.ping()).toBe("PONG");

    const owned = new Cluster([{ host: seed().host, port: seed().port }]);
    const store2 = new RedisStore({ client: owned, closeClient: true, prefix: "adopt2:" });
    await store2.set("x", { cookie: {} } as never);
    await store2.clear();
    await store2.close();
    expect(owned.status).toBe("end");
  });

  it("accepts an iovalkey Cluster client", async () => {
    const client = new ValkeyCluster([{ host: seed().host, port: seed().port }]);
    tracked.client(client);
    const store = track(new RedisStore({ client, prefix: "valkey:" }));
    await exercise(store, 100);
    expect(store.topology).toBe("cluster");
  });

  it("indexes in full again once a user's index key moved to another master", async () => {
    const store = track(
      new RedisStore({ url: topology.url, prefix: "mig:", indexBy: (x: { u?: string }) => x.u }),
    );
    const sess = (n: number) => ({ cookie: { maxAge: 60_000 }, u: "lee", n }) as never;
    await store.set("m1", sess(1));
    let before = store.stats().commands;
    await store.set("m1", sess(2));
    expect(store.stats().commands - before).toBe(1); // SET ... XX alone
    const indexKey = "idx:mig:{lee}";
    const admin = new Cluster([{ host: seed().host, port: seed().port }]);
    tracked.client(admin);
    const slot = Number(await admin.cluster("KEYSLOT", indexKey));
    const source = await topology.slotOwner(slot);
    const target = (await topology.masters()).find((m) => m.port !== source.port)!;
    await topology.migrateSlot(slot, target);
    // The store's client learns the new owner from a MOVED (a read that meets
    // the slot still migrating gets ASK instead, which teaches it nothing).
    const owner = `${target.host}:${target.port}`;
    await waitFor("the store's client to map the index key to its new owner", async (note) => {
      expect(await store.idsFor("lee")).toEqual(["m1"]);
      const known = (store.client as unknown as { slots: string[][] }).slots[slot]?.[0];
      note(`slot ${slot} -> ${known}`);
      return known === owner;
    });
    before = store.stats().commands;
    await store.set("m1", sess(3));
    // SET and the index call to the new owner (plus EVAL if it had not seen the script).
    expect(store.stats().commands - before).toBeGreaterThanOrEqual(2);
    expect(await store.idsFor("lee")).toEqual(["m1"]);
  });

  it("rejects a prefix with braces on a cluster", async () => {
    expect(() => new RedisStore({ url: topology.url, prefix: "app{1}:" })).toThrow(
      /prefix.*"app\{1\}:".*one slot/,
    );
    // Found only once the node answers: every operation fails with the same error.
    const store = track(
      new RedisStore({ url: `redis://${seed().host}:${seed().port}`, prefix: "late{x}:" }),
    );
    const err = await store.get("a").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigurationError);
    expect((err as Error).message).toMatch(/one slot/);
  });

  it("keeps bulk operations exact with hashTag: false", async () => {
    const store = track(new RedisStore({ url: topology.url, hashTag: false, prefix: "flat:" }));
    await exercise(store, 500);
    expect((await store.ids()).length).toBe(500);
    await store.clear();
    expect(await store.length()).toBe(0);
  });
});

/**
 * Cluster checks from issue 10, on a cluster of this file's own: the per-user
 * index when a user's index key and their sessions live on different
 * masters, and a sid whose key has an empty hash tag.
 */
import { randomUUID } from "node:crypto";
import { Cluster, Redis } from "ioredis";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { RedisStore, RedisStoreError, type RedisStoreOptions } from "../../src/index.js";
import { type ClusterTopology, startCluster } from "../support/index.js";

let topology: ClusterTopology;
let admin: Cluster;
let masters: Redis[] = [];
const stores: RedisStore[] = [];

beforeAll(async () => {
  topology = await startCluster();
  admin = new Cluster(topology.nodes.map(({ host, port }) => ({ host, port })));
  masters = (await topology.masters()).map(({ host, port }) => new Redis({ host, port }));
});

afterEach(async () => {
  for (const s of stores.splice(0)) await s.close();
  // The cluster is this file's alone: what a test wrote is everything there is.
  await Promise.all(masters.map((m) => m.flushall()));
});

afterAll(async () => {
  for (const m of masters) m.disconnect();
  await admin?.quit();
  await topology?.stop();
});

const byUser = (s: { userId?: string }) => s.userId;

function makeStore(opts: RedisStoreOptions): RedisStore {
  const store = new RedisStore({ url: topology.url, ...opts });
  stores.push(store);
  return store;
}

const session = (userId: string | undefined, maxAgeMs = 60_000) =>
  ({
    cookie: { originalMaxAge: maxAgeMs, expires: new Date(Date.now() + maxAgeMs) },
    userId,
  }) as never;

const ownerOf = async (key: string) => {
  const node = await topology.slotOwner(key);
  return `${node.host}:${node.port}`;
};

/** PTTL with "no expiry" (-1) as Infinity. */
async function pttl(key: string): Promise<number> {
  const ms = await admin.pttl(key);
  return ms === -1 ? Number.POSITIVE_INFINITY : ms;
}

/** The first of `candidates` whose session key is (or is not) on `node`. */
async function sidOn(prefix: string, node: string, candidates: string[], same: boolean) {
  for (const sid of candidates) {
    if (((await ownerOf(`${prefix}{${sid}}`)) === node) === same) return sid;
  }
  throw new Error(`none of ${candidates.length} sids is ${same ? "on" : "off"} ${node}`);
}

describe("the per-user index across masters", () => {
  for (const batch of [undefined, false] as const) {
    const label = batch === false ? "batch: false" : "batched";
    it(`a touch keeps an index key on another master alive as long as the session (${label}, defect 7)`, async () => {
      const prefix = `x-${randomUUID().slice(0, 8)}:`;
      const store = makeStore({ prefix, indexBy: byUser, ...(batch === false ? { batch } : {}) });
      const idx = `idx:${prefix}{kai}`;
      const sid = await sidOn(
        prefix,
        await ownerOf(idx),
        ["k1", "k2", "k3", "k4", "k5", "k6", "k7"],
        false,
      );
      const key = `${prefix}{${sid}}`;
      await store.set(sid, session("kai"));
      // Longer touches, by this store and by one that never saw the index key.
      const other = makeStore({ prefix, indexBy: byUser, ...(batch === false ? { batch } : {}) });
      for (const [toucher, ms] of [
        [store, 600_000],
        [other, 1_200_000],
      ] as const) {
        await toucher.touch(sid, session("kai", ms));
        const [sessionMs, indexMs] = await Promise.all([pttl(key), pttl(idx)]);
        expect(sessionMs).toBeGreaterThan(ms - 10_000);
        expect(indexMs, "index PTTL vs session PTTL").toBeGreaterThanOrEqual(sessionMs - 250);
      }
      expect(await store.idsFor("kai")).toEqual([sid]);
    });
  }

  it("destroyFor rejects when a session on another master than the index cannot be read (defect 6)", async () => {
    const prefix = `x-${randomUUID().slice(0, 8)}:`;
    const store = makeStore({ prefix, indexBy: byUser });
    const indexNode = await ownerOf(`idx:${prefix}{mia}`);
    const candidates = Array.from({ length: 40 }, (_, i) => `m${i}`);
    const broken = await sidOn(prefix, indexNode, candidates, false);
    const rest = candidates.filter((sid) => sid !== broken).slice(0, 8);
    for (const sid of [broken, ...rest]) await store.set(sid, session("mia"));
    await admin.del(`${prefix}{${broken}}`);
    await admin.rpush(`${prefix}{${broken}}`, "not a session");
    const err = await store.destroyFor("mia").then(
      (n) => new Error(`destroyFor resolved with ${n}`),
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(RedisStoreError);
    expect((err as Error).message).toContain(broken);
    for (const sid of rest) expect(await store.get(sid), sid).toBeNull();
  });
});

describe("a sid whose key has an empty hash tag", () => {
  it('a durable set and destroy of the sid "}{" reach the key\'s own master', async () => {
    // The key is `<prefix>{}{}`. Its first tag is empty, so Redis hashes the
    // whole key (CLUSTER KEYSLOT says so); ioredis' own slot function
    // (cluster-key-slot 1.1.1) gives the slot of "{" instead, and routes a
    // pipeline there. Single commands follow the MOVED; the durable
    // SET + WAIT pipeline met it on every retry (seen in the conformance
    // matrix whenever the two slots had different owners). The prefix is
    // chosen so that they do.
    const wrongNode = await ownerOf("{");
    let prefix: string | undefined;
    for (let i = 0; i < 50 && prefix === undefined; i++) {
      const candidate = `e${i}-${randomUUID().slice(0, 6)}:`;
      if ((await ownerOf(`${candidate}{}{}`)) !== wrongNode) prefix = candidate;
    }
    if (prefix === undefined) throw new Error("no prefix puts `{}{}` off the owner of '{'");
    const store = makeStore({ prefix, durability: { replicas: 0 } });
    await store.set("}{", session(undefined));
    expect(await admin.exists(`${prefix}{}{}`)).toBe(1);
    expect(await store.get("}{")).not.toBeNull();
    await store.destroy("}{");
    expect(await admin.exists(`${prefix}{}{}`)).toBe(0);
  });
});

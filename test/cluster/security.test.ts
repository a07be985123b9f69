import { Cluster } from "ioredis";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { AuthenticationError, RedisStore, RedisStoreError } from "../../src/index.js";
import { findSecrets, secretPieces } from "../fixtures/secrets.js";
import { firstFailure } from "../helpers/failure.js";
import { type ClusterTopology, startCluster } from "../support/index.js";
import { expectClearStaysInPrefix } from "../support/prefix-isolation.js";

const USER = "app";
const PASSWORD = "s3cret";

// Two clusters with an ACL user on every node: one in plain text, one that
// speaks TLS only (client port, cluster bus and replication).
let plain: ClusterTopology;
let secure: ClusterTopology;
const stores: RedisStore[] = [];
const clients: Cluster[] = [];

beforeAll(async () => {
  const auth = { user: USER, password: PASSWORD };
  [plain, secure] = await Promise.all([startCluster(auth), startCluster({ ...auth, tls: true })]);
});

afterEach(async () => {
  await Promise.all(stores.splice(0).map((s) => s.close()));
});

afterAll(async () => {
  for (const c of clients.splice(0)) c.disconnect();
  await Promise.all([plain?.stop(), secure?.stop()]);
});

const track = (s: RedisStore) => {
  stores.push(s);
  return s;
};
const seed = (t: ClusterTopology) => `${t.nodes[0]!.host}:${t.nodes[0]!.port}`;
const tls = () => ({ tls: { ca: secure.tls!.ca } });

/** A raw Cluster client with the topology's credentials (and CA), to look behind the store's back. */
function adminOf(t: ClusterTopology): Cluster {
  const node = t.nodes[0]!;
  const client = new Cluster([{ host: node.host, port: node.port }], {
    redisOptions: {
      username: USER,
      password: PASSWORD,
      ...(t.tls ? { tls: { ca: t.tls.ca } } : {}),
    },
  });
  clients.push(client);
  return client;
}

/** Enough sessions to land on every master, written, counted and cleared. */
async function exercise(store: RedisStore, admin: Cluster, prefix: string): Promise<void> {
  const sids = Array.from({ length: 60 }, (_, i) => `s${i}`);
  await Promise.all(sids.map((sid) => store.set(sid, { cookie: {}, sid } as never)));
  expect(await store.get("s7")).toMatchObject({ sid: "s7" });
  expect(await store.length()).toBe(sids.length);
  expect(store.topology).toBe("cluster");
  expect(await admin.exists(`${prefix}{s7}`)).toBe(1);
  await store.clear();
  expect(await store.length()).toBe(0);
}

describe("cluster over TLS", () => {
  it("serves the store over rediss-cluster:// with an ACL user", async () => {
    expect(secure.url).toMatch(/^rediss-cluster:\/\/app:s3cret@127\.0\.0\.1:\d+,/);
    const store = track(new RedisStore({ url: secure.url, redisOptions: tls(), prefix: "tls:" }));
    await exercise(store, adminOf(secure), "tls:");
  });

  it("fails plain connections to the TLS-only nodes promptly with a coded error", async () => {
    const creds = `${USER}:${PASSWORD}@${seed(secure)}`;
    for (const url of [`redis://${creds}`, `redis-cluster://${creds}`]) {
      const { err, ms } = await firstFailure(track(new RedisStore({ url })));
      expect(err, url).toBeInstanceOf(RedisStoreError);
      expect(err, url).toMatchObject({ code: "ERR_CONNECTION" });
      expect(ms, url).toBeLessThan(5_000);
    }
  });
});

describe("cluster with an ACL user", () => {
  it("connects with redis-cluster://user:pass@ and with the option group", async () => {
    const admin = adminOf(plain);
    expect(plain.url).toMatch(/^redis-cluster:\/\/app:s3cret@/);
    await exercise(track(new RedisStore({ url: plain.url, prefix: "acl:" })), admin, "acl:");
    const group = track(
      new RedisStore({
        cluster: { nodes: [seed(plain)], username: USER, password: PASSWORD },
        prefix: "acl-group:",
      }),
    );
    await exercise(group, admin, "acl-group:");
  });

  it("fails wrong or missing credentials promptly with ERR_AUTH", async () => {
    for (const url of [
      `redis-cluster://${USER}:wrong@${seed(plain)}`,
      `redis-cluster://${seed(plain)}`,
      // Found by topology detection, then the same failure.
      `redis://${USER}:wrong@${seed(plain)}`,
      // Over TLS too.
      `rediss-cluster://${USER}:wrong@${seed(secure)}`,
    ]) {
      const store = track(
        new RedisStore({ url, redisOptions: url.startsWith("rediss") ? tls() : {} }),
      );
      const { err, ms } = await firstFailure(store);
      expect(err, url).toBeInstanceOf(AuthenticationError);
      expect(err, url).toMatchObject({ code: "ERR_AUTH" });
      expect(ms, url).toBeLessThan(5_000);
    }
  });
});

describe("cluster errors never hold a password", () => {
  const WRONG = "Wq8e/Yt5u#Pl1k?Rm3n@Gh7j:Cv2b";

  it("for a wrong password, unencoded in the URL or in the option group", async () => {
    // Each built just before its listener is added, so no early error is missed.
    const stores = [
      () => new RedisStore({ cluster: { nodes: [seed(plain)], username: USER, password: WRONG } }),
      () => new RedisStore({ url: `redis-cluster://${USER}:${WRONG}@${seed(plain)}` }),
      // Found by topology detection first.
      () => new RedisStore({ url: `redis://${USER}:${WRONG}@${seed(plain)}` }),
    ];
    for (const [i, make] of stores.entries()) {
      const store = track(make());
      const events: unknown[] = [];
      store.on("error", (err) => events.push(err));
      const { err } = await firstFailure(store);
      expect(err, `store ${i}`).toMatchObject({ code: "ERR_AUTH" });
      expect(findSecrets(err, secretPieces(WRONG)), `store ${i}`).toEqual([]);
      expect(events.length, `store ${i}`).toBeGreaterThan(0);
      for (const event of events) {
        expect(findSecrets(event, secretPieces(WRONG)), `store ${i}`).toEqual([]);
      }
    }
  });
});

describe("cluster clear()", () => {
  it("never deletes outside its own prefix, on every master", async () => {
    await expectClearStaysInPrefix(
      (prefix) => new RedisStore({ url: plain.url, prefix }),
      adminOf(plain),
    );
  });
});

import { Redis } from "ioredis";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  AuthenticationError,
  RedisStore,
  RedisStoreError,
  type RedisStoreOptions,
} from "../../src/index.js";
import { findSecrets, secretPieces } from "../fixtures/secrets.js";
import { firstFailure } from "../helpers/failure.js";
import { type SentinelTopology, startSentinel } from "../support/index.js";
import { expectClearStaysInPrefix } from "../support/prefix-isolation.js";

const USER = "app";
const PASSWORD = "s3cret";
const SENTINEL_PASSWORD = "sentinel-s3cret";

// Two groups, both with an ACL user on the data nodes and a password on the
// sentinels: one in plain text, one that speaks TLS only (sentinels included).
let plain: SentinelTopology;
let secure: SentinelTopology;
const stores: RedisStore[] = [];
const clients: Redis[] = [];

beforeAll(async () => {
  const auth = { user: USER, password: PASSWORD, sentinelPassword: SENTINEL_PASSWORD };
  [plain, secure] = await Promise.all([startSentinel(auth), startSentinel({ ...auth, tls: true })]);
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
const addresses = (t: SentinelTopology) => t.sentinels.map(({ host, port }) => ({ host, port }));

/** A store through the `sentinel` option group; `over` replaces any of its fields. */
function groupStore(
  t: SentinelTopology,
  over: Partial<NonNullable<RedisStoreOptions["sentinel"]>> = {},
  extra: RedisStoreOptions = {},
): RedisStore {
  return track(
    new RedisStore({
      sentinel: {
        sentinels: addresses(t),
        name: t.masterName,
        username: USER,
        password: PASSWORD,
        sentinelPassword: SENTINEL_PASSWORD,
        ...over,
      },
      ...extra,
    }),
  );
}

/** Raw connection to the current master, for looking behind the store's back. */
async function masterClient(t: SentinelTopology): Promise<Redis> {
  const master = await t.currentMaster();
  const client = new Redis({
    host: master.host,
    port: master.port,
    username: USER,
    password: PASSWORD,
    ...(t.tls ? { tls: { ca: t.tls.ca } } : {}),
  });
  clients.push(client);
  return client;
}

async function exercise(store: RedisStore, t: SentinelTopology, prefix: string): Promise<void> {
  await store.set("a", { cookie: {}, n: 1 } as never);
  await store.set("b", { cookie: {}, n: 2 } as never);
  expect(await store.get("a")).toMatchObject({ n: 1 });
  expect(await store.length()).toBe(2);
  expect(store.topology).toBe("sentinel");
  expect(await (await masterClient(t)).exists(`${prefix}a`)).toBe(1);
  await store.clear();
  expect(await store.length()).toBe(0);
}

async function expectPromptAuthError(store: RedisStore, label: string): Promise<void> {
  const { err, ms } = await firstFailure(store);
  expect(err, label).toBeInstanceOf(AuthenticationError);
  expect(err, label).toMatchObject({ code: "ERR_AUTH" });
  expect(ms, label).toBeLessThan(5_000);
}

describe("sentinel over TLS", () => {
  it("serves the store over rediss-sentinel:// with the CA in redisOptions.tls", async () => {
    expect(secure.url).toMatch(/^rediss-sentinel:\/\/app:s3cret@127\.0\.0\.1:\d+,.*#mymaster$/);
    // The sentinels take the data nodes' TLS settings unless sentinelTLS says otherwise.
    const store = track(
      new RedisStore({
        url: secure.url,
        prefix: "url:",
        redisOptions: { tls: { ca: secure.tls!.ca }, sentinelPassword: SENTINEL_PASSWORD },
      }),
    );
    await exercise(store, secure, "url:");
  });

  it("serves the store through the option group with tls and sentinelTLS", async () => {
    const ca = secure.tls!.ca;
    await exercise(groupStore(secure, { tls: { ca } }, { prefix: "g1:" }), secure, "g1:");
    const split = groupStore(secure, { tls: { ca }, sentinelTLS: { ca } }, { prefix: "g2:" });
    await exercise(split, secure, "g2:");
  });

  it("fails a plain redis:// connection to a TLS-only sentinel promptly with a coded error", async () => {
    const s = secure.sentinels[0]!;
    const url = `redis://:${SENTINEL_PASSWORD}@${s.host}:${s.port}`;
    const { err, ms } = await firstFailure(track(new RedisStore({ url })));
    expect(err).toBeInstanceOf(RedisStoreError);
    expect(err).toMatchObject({ code: "ERR_CONNECTION", message: /TLS/ });
    expect(ms).toBeLessThan(5_000);
  });
});

describe("sentinel with an ACL user and a sentinel password", () => {
  it("connects through the option group and through the URL", async () => {
    await exercise(groupStore(plain, {}, { prefix: "acl:" }), plain, "acl:");
    // The URL's user:pass are the data nodes'; the sentinels' password goes in redisOptions.
    const viaUrl = track(
      new RedisStore({
        url: plain.url,
        prefix: "acl-url:",
        redisOptions: { sentinelPassword: SENTINEL_PASSWORD },
      }),
    );
    await exercise(viaUrl, plain, "acl-url:");
  });

  it("fails wrong or missing data-node credentials promptly with ERR_AUTH", async () => {
    await expectPromptAuthError(groupStore(plain, { password: "wrong" }), "wrong password");
    await expectPromptAuthError(
      groupStore(plain, { username: undefined, password: undefined }),
      "no credentials",
    );
  });

  it("fails a wrong or missing sentinelPassword promptly with ERR_AUTH", async () => {
    const wrong = groupStore(plain, { sentinelPassword: "wrong" });
    await expectPromptAuthError(wrong, "wrong sentinelPassword");
    const missing = groupStore(plain, { sentinelPassword: undefined });
    await expectPromptAuthError(missing, "no sentinelPassword");
    // The message points at the sentinels' password, not the data nodes'.
    await expect(groupStore(plain, { sentinelPassword: "x" }).get("a")).rejects.toThrow(
      /sentinels rejected.*sentinelPassword/,
    );
  });
});

describe("sentinel errors never hold a password", () => {
  const WRONG = "Wq8e/Yt5u#Pl1k?Rm3n@Gh7j:Cv2b";

  async function expectNoSecret(store: RedisStore, label: string): Promise<void> {
    const events: unknown[] = [];
    store.on("error", (err) => events.push(err));
    const { err } = await firstFailure(store);
    expect(err, label).toMatchObject({ code: "ERR_AUTH" });
    expect(findSecrets(err, secretPieces(WRONG)), label).toEqual([]);
    expect(events.length, label).toBeGreaterThan(0);
    for (const event of events) expect(findSecrets(event, secretPieces(WRONG)), label).toEqual([]);
  }

  it("for a wrong data-node password, unencoded in the URL or in the option group", async () => {
    const hosts = plain.sentinels.map((n) => `${n.host}:${n.port}`).join(",");
    const url = `redis-sentinel://${USER}:${WRONG}@${hosts}#${plain.masterName}`;
    await expectNoSecret(groupStore(plain, { password: WRONG }), "sentinel.password");
    const viaUrl = track(
      new RedisStore({ url, redisOptions: { sentinelPassword: SENTINEL_PASSWORD } }),
    );
    await expectNoSecret(viaUrl, "url");
  });

  it("for a wrong sentinelPassword", async () => {
    await expectNoSecret(groupStore(plain, { sentinelPassword: WRONG }), "sentinelPassword");
  });
});

describe("sentinel clear()", () => {
  it("never deletes outside its own prefix", async () => {
    await expectClearStaysInPrefix(
      (prefix) => groupStore(plain, {}, { prefix }),
      await masterClient(plain),
    );
  });
});

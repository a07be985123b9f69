import { Redis } from "ioredis";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { AuthenticationError, RedisStore, RedisStoreError } from "../../src/index.js";
import { runCloseFixture } from "../fixtures/close-suite.js";
import { findSecrets, secretPieces } from "../fixtures/secrets.js";
import { firstFailure } from "../helpers/failure.js";
import { type StandaloneTopology, startStandalone } from "../support/index.js";
import { expectClearStaysInPrefix } from "../support/prefix-isolation.js";

// One node that speaks TLS only and knows one ACL user. Plain-text ACL is
// covered in topology.test.ts.
const USER = "app";
const PASSWORD = "s3cret";

let node: StandaloneTopology;
let admin: Redis;
const stores: RedisStore[] = [];

beforeAll(async () => {
  node = await startStandalone({ tls: true, user: USER, password: PASSWORD });
  admin = new Redis({
    host: node.node.host,
    port: node.node.port,
    username: USER,
    password: PASSWORD,
    tls: { ca: node.tls!.ca },
  });
});

afterEach(async () => {
  await Promise.all(stores.splice(0).map((s) => s.close()));
});

afterAll(async () => {
  admin?.disconnect();
  await node?.stop();
});

const track = (s: RedisStore) => {
  stores.push(s);
  return s;
};
const tls = () => ({ tls: { ca: node.tls!.ca } });
const address = () => `${node.node.host}:${node.node.port}`;

describe("standalone over TLS", () => {
  it("serves the store over rediss:// with an ACL user", async () => {
    expect(node.url).toBe(`rediss://${USER}:${PASSWORD}@${address()}`);
    const store = track(new RedisStore({ url: node.url, redisOptions: tls(), prefix: "tls:" }));
    await store.set("a", { cookie: {}, n: 1 } as never);
    await store.set("b", { cookie: {}, n: 2 } as never);
    expect(await store.get("a")).toMatchObject({ n: 1 });
    expect(await store.length()).toBe(2);
    expect(store.topology).toBe("standalone");
    expect(await admin.exists("tls:a")).toBe(1);
    await store.clear();
    expect(await store.length()).toBe(0);
  });

  it("fails a plain redis:// connection to the TLS-only port promptly with a coded error", async () => {
    for (const topology of ["standalone", "auto"] as const) {
      const url = `redis://${USER}:${PASSWORD}@${address()}`;
      const { err, ms } = await firstFailure(track(new RedisStore({ url, topology })));
      expect(err, topology).toBeInstanceOf(RedisStoreError);
      expect(err, topology).toMatchObject({ code: "ERR_CONNECTION", message: /TLS/ });
      expect(ms, topology).toBeLessThan(5_000);
    }
  });

  it("fails promptly when the server's certificate is not trusted", async () => {
    // No CA given: Node's default trust store does not know the test CA.
    const { err, ms } = await firstFailure(track(new RedisStore({ url: node.url })));
    expect(err).toBeInstanceOf(RedisStoreError);
    expect(err).toMatchObject({ code: "ERR_CONNECTION", message: /certificate/ });
    expect(ms).toBeLessThan(5_000);
  });

  it("fails wrong or missing credentials over TLS promptly with ERR_AUTH", async () => {
    for (const url of [`rediss://${USER}:wrong@${address()}`, `rediss://${address()}`]) {
      const store = track(new RedisStore({ url, topology: "standalone", redisOptions: tls() }));
      const { err, ms } = await firstFailure(store);
      expect(err, url).toBeInstanceOf(AuthenticationError);
      expect(err, url).toMatchObject({ code: "ERR_AUTH" });
      expect(ms, url).toBeLessThan(5_000);
    }
  });
});

describe("standalone clear()", () => {
  it("never deletes outside its own prefix", async () => {
    await expectClearStaysInPrefix(
      (prefix) => new RedisStore({ url: node.url, redisOptions: tls(), prefix }),
      admin,
    );
  });
});

// A second node, plain text, whose ACL user's password holds every character
// a URL treats as a delimiter.
describe("passwords never leave the store", () => {
  const SPECIAL = "Zx9q/Rt7w#Lp3m?Vb2n@Kd4s:Hj6t";
  // Wrong passwords, one per delimiter, unencoded and percent-encoded.
  const WRONG = ["/", "#", "?", "@", ":"].map((c) => `Wq8e${c}Yt5u${c}Pl1k`);
  let acl: StandaloneTopology;
  let aclAdmin: Redis;

  beforeAll(async () => {
    acl = await startStandalone({ user: USER, password: SPECIAL });
    aclAdmin = new Redis({ ...acl.node, username: USER, password: SPECIAL });
  });

  afterAll(async () => {
    aclAdmin?.disconnect();
    await acl?.stop();
  });

  const at = () => `${acl.node.host}:${acl.node.port}`;
  const wrongUrls = () =>
    // Encoded first: those parsed before the fix too, so they test the error chain on its own.
    [
      ...WRONG.map((pw) => ({ pw, url: `redis://${USER}:${encodeURIComponent(pw)}@${at()}` })),
      ...WRONG.map((pw) => ({ pw, url: `redis://${USER}:${pw}@${at()}` })),
    ];

  it("connects with the password written unencoded and percent-encoded", async () => {
    expect(acl.url).toBe(`redis://${USER}:${encodeURIComponent(SPECIAL)}@${at()}`);
    for (const [i, url] of [`redis://${USER}:${SPECIAL}@${at()}`, acl.url].entries()) {
      const prefix = `special${i}:`;
      const store = track(new RedisStore({ url, prefix }));
      await store.set("a", { cookie: {}, n: i } as never);
      expect(await store.get("a")).toMatchObject({ n: i });
      expect(await aclAdmin.exists(`${prefix}a`)).toBe(1);
      await store.destroy("a");
      expect(await aclAdmin.exists(`${prefix}a`)).toBe(0);
    }
  });

  it("refuses wrong passwords with ERR_AUTH errors and events that hold none of it", async () => {
    for (const { pw, url } of wrongUrls()) {
      for (const topology of ["auto", "standalone"] as const) {
        const label = `${url} (${topology})`;
        const events: unknown[] = [];
        const store = track(new RedisStore({ url, topology }));
        store.on("error", (err) => events.push(err));
        const { err, ms } = await firstFailure(store);
        expect(err, label).toBeInstanceOf(AuthenticationError);
        expect(err, label).toMatchObject({ code: "ERR_AUTH" });
        expect(ms, label).toBeLessThan(5_000);
        // The refused HELLO/AUTH reply is kept as the cause, without its arguments.
        expect((err as Error).cause, label).toMatchObject({ name: "ReplyError" });
        expect(findSecrets(err, secretPieces(pw)), label).toEqual([]);
        expect(events.length, label).toBeGreaterThan(0);
        for (const event of events) {
          expect(event, label).toBeInstanceOf(RedisStoreError);
          expect(findSecrets(event, secretPieces(pw)), label).toEqual([]);
        }
      }
    }
  });

  it("writes no password to the debug log (NODE_DEBUG=connect-redis-ha)", async () => {
    // No "error" listener in the child: connection errors go to the debug log.
    const runs = wrongUrls().filter((_, i) => i % 2 === 0 || i === 5);
    const results = await Promise.all(
      runs.map(({ url }) => runCloseFixture(url, "fail", { NODE_DEBUG: "connect-redis-ha" })),
    );
    results.forEach((result, i) => {
      const { pw, url } = runs[i]!;
      expect(result.stdout, url).toContain("first operation failed with ERR_AUTH");
      // Proof that the debug log was on and reported the refusal.
      expect(result.stderr, url).toMatch(/CONNECT-REDIS-HA \d+: AuthenticationError/);
      expect(findSecrets(result.stderr, secretPieces(pw)), url).toEqual([]);
      expect(findSecrets(result.stdout, secretPieces(pw)), url).toEqual([]);
      expect(result.code, `${url}: ${result.stderr}`).toBe(0);
    });
  });
});

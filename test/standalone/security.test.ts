import { Redis } from "ioredis";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { AuthenticationError, RedisStore, RedisStoreError } from "../../src/index.js";
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

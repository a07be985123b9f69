/**
 * The one suite every topology runs (standalone, sentinel, cluster), once per
 * store configuration. Like keyv's storageTestSuite, which takes a store,
 * `conformanceSuite` takes a target (servers already started by the
 * topology's test file) and a `Variant`: the options every store of the run
 * is built with. The topology files run it for each entry of `variants`.
 * A test that only means something for some variants says which with
 * `itWhen` and is not defined in the others (it is not a skipped test);
 * everything else runs in all of them.
 */
import { randomUUID } from "node:crypto";
import { fileURLToPath } from "node:url";
import type { SessionData } from "express-session";
import type { Cluster, Redis } from "ioredis";
import { afterEach, describe, expect, it } from "vitest";
import {
  RedisStore,
  RedisStoreError,
  type RedisStoreOptions,
  type Serializer,
  SessionDecodeError,
  SessionEncodeError,
  type TopologyName,
} from "../src/index.js";
import { runFixture } from "./helpers/fixture.js";
import { waitFor } from "./support/wait.js";

export interface Auth {
  username: string;
  password: string;
}

/** `it` in the variants a test means something for; elsewhere the test is not defined at all. */
const itWhen = (applies: boolean): typeof it =>
  applies ? it : ((() => undefined) as unknown as typeof it);
const describeWhen = (applies: boolean): typeof describe =>
  applies ? describe : ((() => undefined) as unknown as typeof describe);

export interface ConformanceTarget {
  kind: TopologyName;
  /** URL the store connects with (no credentials in it). */
  url: string;
  /** A raw ioredis client (Cluster on a cluster) to look at keys behind the store's back. */
  admin: Redis | Cluster;
  /** Direct connections to every master (one on standalone/sentinel). */
  masters(): Promise<Redis[]>;
  /** Direct connections to every data node, replicas included (for ACL users). */
  nodes(): Promise<Redis[]>;
  /** A new client of this topology (a Cluster on a cluster), owned by the caller. */
  newClient(auth?: Auth): Redis | Cluster;
}

/** One configuration the whole suite runs with. */
export interface Variant {
  name: string;
  /** Options of every store the suite makes; a test's own options win over them. */
  options: RedisStoreOptions;
  /** Stores get a client the test built (`client`, closeClient false) instead of a URL. */
  adopt?: boolean;
  /** What the stored values are. */
  format: "msgpack" | "json" | "text" | "bytes";
  /** Sessions the suite makes carry this `userId`, so the index is really used. */
  user?: string;
}

type Sess = SessionData & Record<string, unknown>;

/** The index function every indexed store here uses. */
const byUser = (s: { userId?: string }) => s.userId;

/** The kind of value `parse` was handed: "Buffer", "string", ... */
function kindOf(raw: unknown): string {
  if (Buffer.isBuffer(raw)) return "Buffer";
  if (raw instanceof Uint8Array) return "Uint8Array";
  return typeof raw;
}

/** connect-redis' serializer shape, writing text; remembers what `parse` was given. */
const textSerializer = {
  seen: [] as string[],
  stringify: (s: unknown) => JSON.stringify(s),
  parse(raw: unknown) {
    textSerializer.seen.push(kindOf(raw));
    return JSON.parse(String(raw));
  },
};

/** The same, writing bytes (the spec allows `string | Buffer`). */
const bytesSerializer = {
  seen: [] as string[],
  stringify: (s: unknown) => Buffer.from(JSON.stringify(s)),
  parse(raw: unknown) {
    bytesSerializer.seen.push(kindOf(raw));
    return JSON.parse(Buffer.isBuffer(raw) ? raw.toString("utf8") : String(raw));
  },
};

export const variants: Variant[] = [
  { name: "defaults", options: {}, format: "msgpack" },
  { name: "batch: false", options: { batch: false }, format: "msgpack" },
  { name: 'serializer: "json"', options: { serializer: "json" }, format: "json" },
  {
    name: "custom serializer (text)",
    options: { serializer: textSerializer as Serializer },
    format: "text",
  },
  {
    name: "custom serializer (bytes)",
    options: { serializer: bytesSerializer as unknown as Serializer },
    format: "bytes",
  },
  {
    name: "durability: { replicas: 0 }",
    options: { durability: { replicas: 0 } },
    format: "msgpack",
  },
  { name: "adopted client", options: { closeClient: false }, adopt: true, format: "msgpack" },
  { name: "indexBy", options: { indexBy: byUser }, format: "msgpack", user: "matrix-user" },
];

const CALLBACK_FIXTURE = fileURLToPath(new URL("./fixtures/callback-throws.ts", import.meta.url));

/** Keys under `prefix` on one node, over every SCAN page. */
async function countKeys(node: Redis, prefix: string): Promise<number> {
  let count = 0;
  let cursor = "0";
  do {
    const [next, keys] = await node.scan(cursor, "MATCH", `${prefix}*`, "COUNT", 1000);
    cursor = next;
    count += keys.length;
  } while (cursor !== "0");
  return count;
}

/** A prefix as a literal SCAN MATCH / ACL key pattern. */
const escapeGlob = (text: string) => text.replace(/[*?[\]\\]/g, "\\$&");

/** Deletes every key matching `pattern` on each node (each key from the node that holds it). */
async function deleteMatching(nodes: Redis[], pattern: string): Promise<void> {
  for (const node of nodes) {
    let cursor = "0";
    do {
      const [next, keys] = await node.scan(cursor, "MATCH", pattern, "COUNT", 1000);
      cursor = next;
      if (keys.length > 0) {
        const p = node.pipeline();
        for (const key of keys) p.unlink(key);
        await p.exec();
      }
    } while (cursor !== "0");
  }
}

/** Sum of every error counter. */
const errorCount = (store: RedisStore) =>
  Object.values(store.stats().errors).reduce((a, b) => a + b, 0);

/** Every event name of an emitter with its listener count. */
function listenerSnapshot(emitter: NodeJS.EventEmitter): Record<string, number> {
  const out: Record<string, number> = {};
  for (const name of emitter.eventNames()) out[String(name)] = emitter.listenerCount(name);
  return out;
}

/** Polls `check` every few ms until it holds; resolves with when it first held. */
const until = (what: string, check: () => Promise<boolean>, deadlineMs: number) =>
  waitFor(what, async () => (await check()) && Date.now(), {
    timeoutMs: deadlineMs,
    intervalMs: 2,
  });

/** Settles to the error a promise rejected with, or an Error saying what it resolved with. */
const rejection = (p: Promise<unknown>) =>
  p.then(
    (value) => new Error(`expected a rejection, but it resolved with ${JSON.stringify(value)}`),
    (err: unknown) => err,
  );

interface FixtureRun {
  results: Array<{ config: string; op: string; surfaced: string }>;
  calls: Record<string, number>;
  late: string[];
}

async function runCallbackFixture(url: string, configs: object[]): Promise<FixtureRun> {
  const run = await runFixture(CALLBACK_FIXTURE, [url, JSON.stringify(configs)]);
  const line = run.stdout.trim().split("\n").at(-1) ?? "";
  try {
    return JSON.parse(line) as FixtureRun;
  } catch {
    throw new Error(
      `fixture exited ${run.code} without a result\nstdout: ${run.stdout}\nstderr: ${run.stderr}`,
    );
  }
}

export function conformanceSuite(getTarget: () => ConformanceTarget, variant: Variant): void {
  const stores: RedisStore[] = [];
  const prefixes: string[] = [];
  const prefixOf = new Map<RedisStore, string>();
  /** Adopted clients of the current test, by user ("" for the default one). */
  const adopted = new Map<string, Redis | Cluster>();
  const aclUsers: string[] = [];
  /** Keys outside any prefix of this test (the empty-prefix test), deleted after it. */
  const strayKeys: string[] = [];
  /**
   * Tests that do not depend on the variant (constructor checks, the callback
   * child process) run in the defaults only, and the 3000-session walk runs in full there.
   */
  const once = variant.name === "defaults";

  /** The adopted client of this test for `auth` (built once per test). */
  function adoptedClient(auth?: Auth): Redis | Cluster {
    const id = auth?.username ?? "";
    let client = adopted.get(id);
    if (!client) {
      client = getTarget().newClient(auth);
      adopted.set(id, client);
    }
    return client;
  }

  /**
   * A store with the variant's options under `opts`, on a prefix of its own,
   * closed and cleaned after the test. `auth` connects as that ACL user.
   */
  function makeStore(opts: RedisStoreOptions = {}, auth?: Auth): RedisStore {
    const prefix = opts.prefix ?? `t-${randomUUID().slice(0, 8)}:`;
    const target = getTarget();
    const source: RedisStoreOptions = variant.adopt
      ? { client: adoptedClient(auth) }
      : {
          url: auth
            ? target.url.replace("://", `://${auth.username}:${auth.password}@`)
            : target.url,
        };
    const store = new RedisStore({ ...variant.options, ...source, ...opts, prefix });
    prefixes.push(prefix);
    prefixOf.set(store, prefix);
    stores.push(store);
    return store;
  }

  /** A session; in a variant with a user, it belongs to that user unless `extra` says otherwise. */
  function session(extra: Record<string, unknown> = {}, maxAgeMs = 60_000): Sess {
    return {
      cookie: {
        originalMaxAge: maxAgeMs,
        expires: new Date(Date.now() + maxAgeMs),
        httpOnly: true,
        path: "/",
      },
      ...(variant.user ? { userId: variant.user } : {}),
      ...extra,
    } as unknown as Sess;
  }

  /**
   * An ACL user on every data node with every permission; `keys` replaces
   * its key permissions (e.g. `~p*`, `%R~p*`, none at all), which Redis
   * applies to connections already open. Deleted after the test.
   */
  async function aclUser(): Promise<Auth & { keys(...rules: string[]): Promise<void> }> {
    const username = `t-${randomUUID().slice(0, 8)}`;
    const password = randomUUID();
    const nodes = await getTarget().nodes();
    aclUsers.push(username);
    await Promise.all(
      nodes.map((n) =>
        n.call("ACL", "SETUSER", username, "reset", "on", `>${password}`, "~*", "&*", "+@all"),
      ),
    );
    return {
      username,
      password,
      keys: async (...rules) => {
        await Promise.all(
          nodes.map((n) => n.call("ACL", "SETUSER", username, "resetkeys", ...rules)),
        );
      },
    };
  }

  afterEach(async () => {
    const done = stores.splice(0);
    // clear() of each store removes what the test wrote under its prefix.
    await Promise.all(done.map((s) => s.clear().catch(() => {})));
    await Promise.all(done.map((s) => s.close().catch(() => {})));
    for (const client of adopted.values()) await client.quit().catch(() => client.disconnect());
    adopted.clear();
    const target = getTarget();
    if (aclUsers.length > 0) {
      const users = aclUsers.splice(0);
      await Promise.all((await target.nodes()).map((n) => n.call("ACL", "DELUSER", ...users)));
    }
    // Whatever clear() could not remove (a failed test, a refused user) and the
    // index keys, which clear() leaves to expire.
    const masters = await target.masters();
    for (const prefix of new Set(prefixes.splice(0))) {
      if (prefix === "") continue;
      await deleteMatching(masters, `${escapeGlob(prefix)}*`);
      await deleteMatching(masters, `idx:${escapeGlob(prefix)}*`);
    }
    for (const key of strayKeys.splice(0)) await target.admin.unlink(key);
    prefixOf.clear();
  });

  /** The Redis key of `sid` in `store`, as the spec names it. */
  function keyOf(store: RedisStore, sid: string, hashTag = getTarget().kind === "cluster"): string {
    const prefix = prefixOf.get(store)!;
    return hashTag ? `${prefix}{${sid}}` : `${prefix}${sid}`;
  }

  /** The per-user index key of `user` in `store` (default indexPrefix). */
  const indexKeyOf = (store: RedisStore, user: string) => `idx:${prefixOf.get(store)!}{${user}}`;

  /** PTTL with "no expiry" (-1) as Infinity. */
  async function pttl(key: string): Promise<number> {
    const ms = await getTarget().admin.pttl(key);
    return ms === -1 ? Number.POSITIVE_INFINITY : ms;
  }

  describe("connection", () => {
    it("reports the topology and emits connect", async () => {
      const store = makeStore();
      const connected = new Promise<void>((resolve) => store.once("connect", resolve));
      await store.length();
      await connected;
      expect(store.topology).toBe(getTarget().kind);
    });

    itWhen(once)("rejects unknown options with a TypeError naming the option", () => {
      expect(() => new RedisStore({ url: getTarget().url, retryStrategy: 1 } as never)).toThrow(
        /Unknown RedisStore option `retryStrategy`.*redisOptions/,
      );
    });

    itWhen(once)("rejects two connection sources", () => {
      expect(
        () => new RedisStore({ url: getTarget().url, host: "127.0.0.1" } as RedisStoreOptions),
      ).toThrow(/`url` and `host`/);
    });

    itWhen(variant.options.batch !== false)(
      "close() sends the touches still waiting in the batch",
      async () => {
        const target = getTarget();
        const store = makeStore({ ttl: 500, batch: { maxDelayMs: 60_000, maxSize: 512 } });
        await store.set("pending", { cookie: {} } as never);
        const key = keyOf(store, "pending");
        await target.admin.expire(key, 5);
        // A flush window of a minute: only close() can send this touch.
        const touched = store.touch("pending", { cookie: {} } as never);
        await store.close();
        await touched;
        expect(await target.admin.pttl(key)).toBeGreaterThan(400_000);
        await target.admin.del(key);
      },
    );

    it("fails every call after close() with ERR_CLOSED", async () => {
      const store = makeStore();
      await store.set("x", session());
      await store.close();
      await expect(store.get("x")).rejects.toMatchObject({ code: "ERR_CLOSED" });
    });
  });

  describe("get / set / destroy", () => {
    it("round-trips with promises", async () => {
      const store = makeStore();
      expect(await store.get("missing")).toBeNull();
      await store.set("s1", session({ user: "ann", n: 1, tags: ["a", "b"], nested: { x: 1 } }));
      const got = await store.get("s1");
      expect(got).toMatchObject({ user: "ann", n: 1, tags: ["a", "b"], nested: { x: 1 } });
      await store.destroy("s1");
      expect(await store.get("s1")).toBeNull();
    });

    it("round-trips with callbacks", async () => {
      const store = makeStore();
      const call = <T>(fn: (cb: (err: unknown, v?: T) => void) => unknown) =>
        new Promise<T | undefined>((resolve, reject) => {
          const ret = fn((err, v) => (err ? reject(err) : resolve(v)));
          expect(ret).toBeUndefined();
        });
      await call<void>((cb) => store.set("cb", session({ n: 7 }), cb));
      const got = await call<SessionData | null>((cb) => store.get("cb", cb));
      expect(got).toMatchObject({ n: 7 });
      await call<void>((cb) => store.touch("cb", session({ n: 7 }), cb));
      expect(await call<number>((cb) => store.length(cb))).toBe(1);
      expect(await call<string[]>((cb) => store.ids(cb))).toEqual(["cb"]);
      const all = await call<Array<{ id: string }>>((cb) => store.all(cb));
      expect(all?.map((s) => s.id)).toEqual(["cb"]);
      await call<void>((cb) => store.destroy("cb", cb));
      expect(await call<SessionData | null>((cb) => store.get("cb", cb))).toBeNull();
      await call<void>((cb) => store.set("cb2", session(), cb));
      await call<void>((cb) => store.clear(cb));
      expect(await store.length()).toBe(0);
    });

    it("revives cookie.expires as a Date", async () => {
      const store = makeStore();
      const s = session({ when: new Date("2020-01-02T03:04:05.000Z") });
      await store.set("d", s);
      const got = (await store.get("d")) as Sess;
      expect(got.cookie.expires).toBeInstanceOf(Date);
      expect((got.cookie.expires as Date).getTime()).toBe((s.cookie.expires as Date).getTime());
      // Only MessagePack keeps other Dates as Dates; JSON has no Date type.
      if (variant.format === "msgpack") expect(got.when).toBeInstanceOf(Date);
      const [listed] = await store.all();
      expect(listed?.cookie.expires).toBeInstanceOf(Date);
    });

    it("drops functions and undefined as JSON does", async () => {
      const store = makeStore();
      await store.set("f", session({ fn: () => 1, u: undefined, arr: [1, undefined], keep: 0 }));
      const got = (await store.get("f")) as Sess;
      expect("fn" in got).toBe(false);
      expect("u" in got).toBe(false);
      expect(got.arr).toEqual([1, null]);
      expect(got.keep).toBe(0);
      // Only an undefined member: nothing else would force a copy of the session.
      await store.set("u", session({ only: undefined }));
      expect("only" in ((await store.get("u")) as Sess)).toBe(false);
    });

    it("reads JSON values written the way connect-redis writes them", async () => {
      const target = getTarget();
      const store = makeStore();
      const legacy = {
        cookie: { originalMaxAge: 60_000, expires: new Date(Date.now() + 60_000).toISOString() },
        user: "legacy",
      };
      await target.admin.set(keyOf(store, "old"), JSON.stringify(legacy), "EX", 60);
      const got = (await store.get("old")) as Sess;
      expect(got.user).toBe("legacy");
      expect(got.cookie.expires).toBeInstanceOf(Date);
      // New writes coexist in the store's own format.
      await store.set("new", session({ user: "new" }));
      const raw = await target.admin.getBuffer(keyOf(store, "new"));
      expect(raw).not.toBeNull();
      if (variant.format === "msgpack") expect(raw![0]).not.toBe(0x7b);
      else expect(JSON.parse(raw!.toString("utf8"))).toMatchObject({ user: "new" });
      expect(await store.length()).toBe(2);
    });

    it("uses connect-redis' exact key names when hashTag is off", async () => {
      const target = getTarget();
      const store = makeStore({ hashTag: false });
      await store.set("plain", session({ v: 1 }));
      expect(await target.admin.exists(keyOf(store, "plain", false))).toBe(1);
      expect(await store.get("plain")).toMatchObject({ v: 1 });
      expect(await store.ids()).toEqual(["plain"]);
    });

    it("accepts a custom serializer with an async parse", async () => {
      const target = getTarget();
      const serializer = {
        stringify: (s: unknown) => `custom:${JSON.stringify(s)}`,
        parse: async (raw: string) => {
          await new Promise((r) => setImmediate(r));
          return JSON.parse(raw.slice("custom:".length));
        },
      };
      const store = makeStore({ serializer });
      await store.set("c", session({ v: "x" }));
      expect(await target.admin.get(keyOf(store, "c"))).toMatch(/^custom:\{/);
      expect(await store.get("c")).toMatchObject({ v: "x" });
      expect((await store.all()).map((s) => s.id)).toEqual(["c"]);
    });

    it("handles sids with braces, globs, spaces and non-ASCII", async () => {
      const store = makeStore();
      const sids = ["a{b}c", "{x}", "st*r?[1]", "with space", "ünïcødé-✓", "back\\slash", "}{"];
      for (const sid of sids) await store.set(sid, session({ sid }));
      for (const sid of sids) expect(await store.get(sid)).toMatchObject({ sid });
      expect((await store.ids()).sort()).toEqual([...sids].sort());
      expect(await store.length()).toBe(sids.length);
    });
  });

  describe("serializers that write bytes (defect 4)", () => {
    itWhen(variant.format === "bytes")(
      "hands parse a Buffer when stringify wrote bytes",
      async () => {
        const store = makeStore();
        bytesSerializer.seen.length = 0;
        await store.set("b", session({ v: "bytes" }));
        expect(await store.get("b")).toMatchObject({ v: "bytes" });
        expect((await store.all()).map((s) => s.id)).toEqual(["b"]);
        expect(bytesSerializer.seen.length).toBeGreaterThan(0);
        expect([...new Set(bytesSerializer.seen)]).toEqual(["Buffer"]);
      },
    );

    itWhen(variant.format === "text")("hands parse text when stringify wrote text", async () => {
      const store = makeStore();
      textSerializer.seen.length = 0;
      await store.set("t", session({ v: "text" }));
      expect(await store.get("t")).toMatchObject({ v: "text" });
      expect((await store.all()).map((s) => s.id)).toEqual(["t"]);
      expect(textSerializer.seen.length).toBeGreaterThan(0);
      expect([...new Set(textSerializer.seen)]).toEqual(["string"]);
    });

    for (const kind of ["Uint8Array", "Buffer"] as const) {
      it(`stores a ${kind} from stringify byte for byte and hands parse those bytes`, async () => {
        const target = getTarget();
        // Not valid UTF-8 (0xff, 0xfe, a NUL), so any detour through text shows.
        const header = [0xff, 0xfe, 0x00];
        const encode = (s: unknown) => {
          const json = Buffer.from(JSON.stringify(s));
          const out = new Uint8Array(header.length + json.length);
          out.set(header);
          out.set(json, header.length);
          return kind === "Buffer" ? Buffer.from(out) : out;
        };
        const seen: string[] = [];
        const serializer = {
          stringify: encode,
          parse(raw: unknown) {
            seen.push(kindOf(raw));
            if (!Buffer.isBuffer(raw))
              throw new TypeError(`parse got ${kindOf(raw)}, not a Buffer`);
            if (!raw.subarray(0, header.length).equals(Buffer.from(header))) {
              throw new TypeError(`parse got bytes starting ${raw.subarray(0, 6).toString("hex")}`);
            }
            return JSON.parse(raw.subarray(header.length).toString("utf8"));
          },
        } as unknown as Serializer;
        const store = makeStore({ serializer });
        const s = session({ v: "raw bytes ✓" });
        await store.set("raw", s);
        const stored = await target.admin.getBuffer(keyOf(store, "raw"));
        expect(stored?.toString("hex")).toBe(Buffer.from(encode(s)).toString("hex"));
        expect(await store.get("raw")).toMatchObject({ v: "raw bytes ✓" });
        expect((await store.all()).map((x) => x.id)).toEqual(["raw"]);
        expect([...new Set(seen)]).toEqual(["Buffer"]);
      });
    }
  });

  describe("order of calls (defect 5)", () => {
    for (const indexed of [false, true]) {
      const label = indexed ? " (indexBy)" : "";
      const opts = (): RedisStoreOptions => (indexed ? { indexBy: byUser } : {});

      it(`set, destroy, set of one sid back to back leaves the last set's session${label}`, async () => {
        const store = makeStore(opts());
        const wrong: string[] = [];
        const sids: string[] = [];
        for (let i = 0; i < 40; i++) {
          const sid = `o${i}`;
          sids.push(sid);
          await Promise.all([
            store.set(sid, session({ userId: "ola", n: 1 })),
            store.destroy(sid),
            store.set(sid, session({ userId: "ola", n: 2 })),
          ]);
          const got = (await store.get(sid)) as Sess | null;
          if (got?.n !== 2) wrong.push(`${sid}: ${got === null ? "no session" : `n=${got.n}`}`);
        }
        expect(wrong, "rounds that did not end with the last set's session").toEqual([]);
        if (indexed || variant.options.indexBy) {
          expect((await store.idsFor("ola")).sort()).toEqual([...sids].sort());
        }
      });

      it(`set, destroy of one sid back to back leaves nothing${label}`, async () => {
        const target = getTarget();
        const store = makeStore(opts());
        const left: string[] = [];
        for (let i = 0; i < 40; i++) {
          const sid = `d${i}`;
          await Promise.all([store.set(sid, session({ userId: "dora" })), store.destroy(sid)]);
          if ((await target.admin.exists(keyOf(store, sid))) !== 0) left.push(sid);
        }
        expect(left, "sessions still stored after set, destroy").toEqual([]);
        if (indexed || variant.options.indexBy) expect(await store.idsFor("dora")).toEqual([]);
      });
    }
  });

  describe("TTL", () => {
    it("defaults to the cookie's remaining lifetime", async () => {
      const store = makeStore();
      await store.set("c", session({}, 120_000));
      const ms = await pttl(keyOf(store, "c"));
      expect(ms).toBeGreaterThan(115_000);
      expect(ms).toBeLessThanOrEqual(121_000);
    });

    it("uses the numeric ttl without cookie.expires, and 86400 by default", async () => {
      const store = makeStore({ ttl: 300 });
      await store.set("n", { cookie: { originalMaxAge: null } } as unknown as Sess);
      const ms = await pttl(keyOf(store, "n"));
      expect(ms).toBeGreaterThan(295_000);
      expect(ms).toBeLessThanOrEqual(300_000);
      const store2 = makeStore();
      await store2.set("d", { cookie: {} } as unknown as Sess);
      expect(await pttl(keyOf(store2, "d"))).toBeGreaterThan(86_000_000);
    });

    it("lets a ttl function win over the cookie", async () => {
      const store = makeStore({ ttl: (s: Sess) => (s.short ? 30 : 600) });
      await store.set("f", session({ short: true }, 1_000_000));
      const ms = await pttl(keyOf(store, "f"));
      expect(ms).toBeGreaterThan(25_000);
      expect(ms).toBeLessThanOrEqual(30_000);
    });

    it("destroys the session when the TTL is <= 0", async () => {
      const store = makeStore();
      await store.set("gone", session());
      expect(await store.get("gone")).not.toBeNull();
      await store.set("gone", session({}, -5_000));
      expect(await store.get("gone")).toBeNull();
      const zero = makeStore({ ttl: () => 0 });
      await zero.set("z", session());
      expect(await zero.get("z")).toBeNull();
    });

    it("disableTTL keeps keys forever and makes touch a no-op", async () => {
      const store = makeStore({ disableTTL: true });
      await store.set("p", session());
      expect(await getTarget().admin.pttl(keyOf(store, "p"))).toBe(-1);
      await store.touch("p", session());
      expect(await getTarget().admin.pttl(keyOf(store, "p"))).toBe(-1);
    });

    it("touch refreshes the TTL without rewriting the value", async () => {
      const target = getTarget();
      const store = makeStore({ ttl: 100 });
      await store.set("t", { cookie: {}, v: 1 } as unknown as Sess);
      const key = keyOf(store, "t");
      await target.admin.expire(key, 10);
      const before = await target.admin.getBuffer(key);
      await store.touch("t", { cookie: {}, v: 2 } as unknown as Sess);
      expect(await target.admin.pttl(key)).toBeGreaterThan(90_000);
      expect((await target.admin.getBuffer(key))?.equals(before!)).toBe(true);
    });

    it("disableTouch makes touch a no-op", async () => {
      const target = getTarget();
      const store = makeStore({ ttl: 100, disableTouch: true });
      await store.set("t", { cookie: {} } as unknown as Sess);
      const key = keyOf(store, "t");
      await target.admin.expire(key, 10);
      await store.touch("t", { cookie: {} } as unknown as Sess);
      const left = await target.admin.pttl(key);
      expect(left).toBeGreaterThan(0);
      expect(left).toBeLessThanOrEqual(10_000);
    });

    itWhen(variant.options.batch !== false)(
      "coalesces concurrent touches and answers each caller",
      async () => {
        const target = getTarget();
        const store = makeStore({ ttl: 500 });
        const sids = Array.from({ length: 200 }, (_, i) => `b${i}`);
        await Promise.all(sids.map((sid) => store.set(sid, { cookie: {} } as unknown as Sess)));
        for (const sid of sids) await target.admin.expire(keyOf(store, sid), 5);
        const before = store.stats().pipelines;
        // The same sid twice in one window is sent once.
        await Promise.all([
          ...sids.map((sid) => store.touch(sid, { cookie: {} } as unknown as Sess)),
          store.touch("b0", { cookie: {} } as unknown as Sess),
        ]);
        const stats = store.stats();
        expect(stats.pipelines - before).toBeGreaterThan(0);
        expect(stats.pipelines - before).toBeLessThanOrEqual(target.kind === "cluster" ? 3 : 1);
        expect(stats.touchesCoalesced).toBeGreaterThanOrEqual(1);
        for (const sid of sids.slice(0, 20)) {
          expect(await target.admin.pttl(keyOf(store, sid))).toBeGreaterThan(400_000);
        }
      },
    );

    it("touchAfter skips touches soon after a refresh", async () => {
      const store = makeStore({ ttl: 100, touchAfter: 60 });
      await store.set("ta", { cookie: {} } as unknown as Sess);
      await store.touch("ta", { cookie: {} } as unknown as Sess);
      await store.touch("ta", { cookie: {} } as unknown as Sess);
      expect(store.stats().touchesSkipped).toBe(2);
    });
  });

  describe("TTL in milliseconds (defect 13)", () => {
    it("a session whose cookie expires in 50 ms is gone about 50 ms later, not a second later", async () => {
      const target = getTarget();
      const store = makeStore();
      await store.length(); // connected: the clock below measures the session, not the connect
      const started = Date.now();
      await store.set("ms", session({}, 50));
      const key = keyOf(store, "ms");
      const left = await target.admin.pttl(key);
      expect(left, "PTTL right after set").toBeGreaterThan(0);
      expect(left, "PTTL right after set").toBeLessThanOrEqual(50);
      const goneAt = await until(
        "the 50 ms session is gone",
        async () => (await store.get("ms")) === null && (await target.admin.exists(key)) === 0,
        3_000,
      );
      // The margin is for a busy machine; whole-second TTLs miss it by ~800 ms.
      expect(goneAt - started, "ms from set until the session was gone").toBeLessThan(50 + 200);
    });

    it("a ttl of 1.5 s is stored as 1.5 s, and touch refreshes it to the millisecond", async () => {
      const target = getTarget();
      const store = makeStore({ ttl: 1.5 });
      await store.set("f", { cookie: {} } as unknown as Sess);
      const key = keyOf(store, "f");
      const afterSet = await target.admin.pttl(key);
      expect(afterSet, "PTTL after set").toBeGreaterThan(1_000);
      expect(afterSet, "PTTL after set").toBeLessThanOrEqual(1_500);
      await target.admin.pexpire(key, 300);
      await store.touch("f", { cookie: {} } as unknown as Sess);
      const afterTouch = await target.admin.pttl(key);
      expect(afterTouch, "PTTL after touch").toBeGreaterThan(1_000);
      expect(afterTouch, "PTTL after touch").toBeLessThanOrEqual(1_500);
    });

    it("touch takes the cookie's remaining lifetime to the millisecond", async () => {
      const target = getTarget();
      const store = makeStore();
      await store.set("c", session({}, 60_000));
      const key = keyOf(store, "c");
      await store.touch("c", session({}, 700));
      const left = await target.admin.pttl(key);
      expect(left, "PTTL after a touch with 700 ms left").toBeGreaterThan(400);
      expect(left, "PTTL after a touch with 700 ms left").toBeLessThanOrEqual(700);
    });
  });

  describe("bulk operations", () => {
    it("length/ids/all/clear are exact over thousands of sessions", async () => {
      const target = getTarget();
      const store = makeStore({ scanCount: 250 });
      const prefix = prefixOf.get(store)!;
      // Thousands where nothing else varies; enough for several SCAN pages per
      // master in the other variants, which only change how values are written.
      const n = once ? 3000 : 1000;
      const sids = Array.from({ length: n }, (_, i) => `bulk-${i}`);
      for (let i = 0; i < n; i += 500) {
        await Promise.all(sids.slice(i, i + 500).map((sid) => store.set(sid, session({ sid }))));
      }
      expect(await store.length()).toBe(n);
      const ids = await store.ids();
      expect(ids.length).toBe(n);
      expect(new Set(ids)).toEqual(new Set(sids));
      const all = await store.all();
      expect(all.length).toBe(n);
      for (const s of all.slice(0, 50)) expect((s as unknown as Sess).sid).toBe(s.id);

      const masters = await target.masters();
      if (target.kind === "cluster") {
        expect(masters.length).toBe(3);
        // Every master holds a share, and the shares add up.
        let total = 0;
        for (const m of masters) {
          const count = await countKeys(m, prefix);
          expect(count).toBeGreaterThan(n / 10);
          total += count;
          expect(await m.dbsize()).toBeGreaterThanOrEqual(count);
        }
        expect(total).toBe(n);
      }
      await store.clear();
      expect(await store.length()).toBe(0);
      for (const m of masters) expect(await countKeys(m, prefix)).toBe(0);
    });

    it("keeps prefixes with glob characters apart", async () => {
      const star = makeStore({ prefix: `g${randomUUID().slice(0, 6)}a*` });
      const starPrefix = prefixOf.get(star)!;
      const plain = makeStore({ prefix: `${starPrefix.slice(0, -1)}b:` });
      const q = makeStore({ prefix: `${starPrefix.slice(0, -2)}?[x]:` });
      for (let i = 0; i < 20; i++) {
        await star.set(`s${i}`, session());
        await plain.set(`p${i}`, session());
        await q.set(`q${i}`, session());
      }
      expect(await star.length()).toBe(20);
      expect(await plain.length()).toBe(20);
      expect(await q.length()).toBe(20);
      await star.clear();
      await q.clear();
      expect(await star.length()).toBe(0);
      expect(await plain.length()).toBe(20);
      expect(await plain.get("p3")).not.toBeNull();
    });
  });

  describe("per-user index", () => {
    const as = (user: string | undefined, extra: Record<string, unknown> = {}, maxAgeMs?: number) =>
      session({ userId: user, ...extra }, maxAgeMs);

    function indexed(opts: RedisStoreOptions = {}, auth?: Auth): RedisStore {
      return makeStore({ indexBy: byUser, ...opts }, auth);
    }

    it("finds and destroys exactly one user's sessions, across store instances", async () => {
      const target = getTarget();
      const a = indexed();
      const prefix = prefixOf.get(a)!;
      const b = indexed({ prefix });
      const c = indexed({ prefix });
      const all3 = [a, b, c];
      const annSids = Array.from({ length: 12 }, (_, i) => `ann-${i}`);
      const bobSids = Array.from({ length: 5 }, (_, i) => `bob-${i}`);
      await Promise.all(annSids.map((sid, i) => all3[i % 3]!.set(sid, as("ann"))));
      await Promise.all(bobSids.map((sid, i) => all3[i % 3]!.set(sid, as("bob"))));
      await a.set("anon", as(undefined));
      expect((await b.idsFor("ann")).sort()).toEqual([...annSids].sort());
      expect((await c.idsFor("bob")).sort()).toEqual([...bobSids].sort());
      // The index keys exist where the docs say, and the walks see sessions only (defect 16:
      // this used to be a check that could not fail).
      expect(await target.admin.exists(indexKeyOf(a, "ann"))).toBe(1);
      expect(await target.admin.exists(indexKeyOf(a, "bob"))).toBe(1);
      expect(await a.length()).toBe(annSids.length + bobSids.length + 1);
      expect((await a.ids()).sort()).toEqual([...annSids, ...bobSids, "anon"].sort());
      const destroyed = await c.destroyFor("ann", { except: "ann-3" });
      expect(destroyed).toBe(annSids.length - 1);
      expect(await a.idsFor("ann")).toEqual(["ann-3"]);
      expect(await a.get("ann-3")).not.toBeNull();
      expect(await a.get("ann-4")).toBeNull();
      expect((await a.idsFor("bob")).length).toBe(bobSids.length);
      expect(await a.get("anon")).not.toBeNull();
      expect(await a.destroyFor("bob")).toBe(bobSids.length);
      expect(await a.length()).toBe(2);
    });

    it("follows user changes, logouts and expiry", async () => {
      const target = getTarget();
      const store = indexed();
      await store.set("s1", as("ann"));
      await store.set("s2", as("ann"));
      await store.set("s3", as("ann"));
      await store.set("s4", as("ann"));
      await store.set("s1", as("bob")); // moved to bob
      await store.set("s2", as(undefined)); // logged out but session kept
      await store.destroy("s3");
      // s4 expires behind the store's back.
      const key = keyOf(store, "s4");
      await target.admin.pexpire(key, 1);
      await until("s4 expired", async () => (await target.admin.exists(key)) === 0, 2_000);
      expect(await store.idsFor("ann")).toEqual([]);
      expect(await store.idsFor("bob")).toEqual(["s1"]);
      // Gone sessions were pruned from ann's index; the moved ones stay there
      // as hints, never reported, until their sessions end.
      const annKey = indexKeyOf(store, "ann");
      // (The "" member is the placeholder that keeps an index set from emptying.)
      expect((await target.admin.smembers(annKey)).sort()).toEqual(["", "s1", "s2"]);
      await store.destroy("s1");
      await store.destroy("s2");
      expect(await store.idsFor("ann")).toEqual([]);
      expect(await target.admin.smembers(annKey)).toEqual([""]);
      expect(await target.admin.pttl(annKey)).toBeGreaterThan(0);
    });

    // Durability adds a WAIT to every write: "one command" is about the SET alone.
    itWhen(!variant.options.durability)(
      "sends one command for a repeated set, and still indexes a session destroyed elsewhere",
      async () => {
        const a = indexed();
        const prefix = prefixOf.get(a)!;
        const b = indexed({ prefix });
        await a.set("r1", as("fay"));
        const before = a.stats().commands;
        await a.set("r1", as("fay", { n: 2 }));
        expect(a.stats().commands - before).toBe(1);
        // Another process logs r1 out; a request that still holds it saves it again.
        await b.destroy("r1");
        expect(await b.idsFor("fay")).toEqual([]);
        await a.set("r1", as("fay", { n: 3 }));
        expect(await b.idsFor("fay")).toEqual(["r1"]);
        expect(await b.destroyFor("fay")).toBe(1);
        expect(await a.get("r1")).toBeNull();
        // And once more after destroyFor, from the store that cached it.
        await a.set("r1", as("fay", { n: 4 }));
        expect(await b.idsFor("fay")).toEqual(["r1"]);
      },
    );

    it("gives the index key the TTL of the user's longest session, extended by touch", async () => {
      const target = getTarget();
      const store = indexed();
      await store.set("short", as("cy", {}, 60_000));
      await store.set("long", as("cy", {}, 600_000));
      await store.set("short", as("cy", {}, 60_000)); // must not shorten
      const idx = indexKeyOf(store, "cy");
      expect(await target.admin.pttl(idx)).toBeGreaterThan(590_000);
      await store.touch("short", as("cy", {}, 900_000));
      expect(await target.admin.pttl(idx)).toBeGreaterThan(890_000);
    });

    it("stays consistent under concurrent logins and logouts from many stores", async () => {
      const first = indexed();
      const prefix = prefixOf.get(first)!;
      const many = [first, ...Array.from({ length: 4 }, () => indexed({ prefix }))];
      // Three waves, so that later sets find sids their store indexed before.
      for (let wave = 0; wave < 3; wave++) {
        const ops: Promise<unknown>[] = [];
        for (let i = 0; i < 200; i++) {
          const store = many[(i + wave) % many.length]!;
          const sid = `c${i % 40}`;
          const user = (i + wave) % 3 === 0 ? "dee" : "eve";
          ops.push(i % 7 === 3 ? store.destroy(sid) : store.set(sid, as(user)));
          // Logouts everywhere race the first two waves; the last wave leaves both users
          // with sessions, so the comparison below has something to compare.
          if (wave < 2 && i % 50 === 49) ops.push(store.destroyFor(user, { except: sid }));
        }
        await Promise.all(ops);
      }
      // The truth: every live session, by user.
      const all = await first.all();
      for (const user of ["dee", "eve"]) {
        const expected = all
          .filter((s) => (s as unknown as Sess).userId === user)
          .map((s) => s.id)
          .sort();
        expect(expected.length).toBeGreaterThan(0); // an empty comparison would prove nothing
        expect((await many[2]!.idsFor(user)).sort()).toEqual(expected);
      }
    });

    it("refuses to index an empty sid, and leaves nothing stored", async () => {
      const store = indexed();
      await expect(store.set("", as("gil"))).rejects.toMatchObject({
        code: "ERR_ENCODE",
        message: expect.stringMatching(/empty session id/),
      });
      expect(await store.get("")).toBeNull();
      expect(await store.idsFor("gil")).toEqual([]);
    });

    itWhen(!variant.options.indexBy)(
      "refuses idsFor without indexBy, with a message that says how to turn it on",
      async () => {
        const store = makeStore();
        await expect(store.idsFor("x")).rejects.toThrow(/indexBy/);
      },
    );

    it('refuses indexBy with prefix: "", naming the option (defect 3)', () => {
      // With an empty prefix every key is a session to length(), ids() and
      // clear(), the index keys included; the store refuses the combination.
      let err: unknown;
      try {
        indexed({ prefix: "" });
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(TypeError);
      expect(err).toMatchObject({ code: "ERR_CONFIG", message: expect.stringMatching(/`prefix`/) });
    });

    it("destroyFor rejects when a listed session cannot be read, after destroying the rest (defect 6)", async () => {
      const target = getTarget();
      const store = indexed();
      for (const sid of ["m1", "m2", "m3"]) await store.set(sid, as("mia"));
      await store.set("o1", as("otto"));
      // m2 is still listed in mia's index, but reading it fails in Redis (WRONGTYPE):
      // it may be a live session of hers, so "logged out everywhere" would be a lie.
      const broken = keyOf(store, "m2");
      await target.admin.del(broken);
      await target.admin.rpush(broken, "not a session");
      const err = await rejection(store.destroyFor("mia"));
      expect(err).toBeInstanceOf(RedisStoreError);
      expect((err as Error).message).toContain("m2");
      expect(await store.get("m1")).toBeNull();
      expect(await store.get("m3")).toBeNull();
      expect(await store.get("o1")).not.toBeNull();
    });

    it("destroyFor rejects when a listed session cannot be deleted (defect 6)", async () => {
      const target = getTarget();
      const user = await aclUser();
      const store = indexed({}, user);
      for (const sid of ["w1", "w2"]) await store.set(sid, as("wes"));
      const prefix = escapeGlob(prefixOf.get(store)!);
      // Sessions readable but not deletable; the index fully usable.
      await user.keys(`%R~${prefix}*`, `~idx:${prefix}*`);
      const err = await rejection(store.destroyFor("wes"));
      expect(err).toBeInstanceOf(RedisStoreError);
      expect(await target.admin.exists(keyOf(store, "w1"))).toBe(1);
    });

    it("a touch never lets the user's index expire before the session (defect 7)", async () => {
      const store = indexed();
      await store.set("k1", as("kai", {}, 60_000));
      const key = keyOf(store, "k1");
      const idx = indexKeyOf(store, "kai");
      const [sessionMs, indexMs] = await Promise.all([pttl(key), pttl(idx)]);
      // Both TTLs are read in the same round trip; the slack covers the few ms between them.
      expect(indexMs, "index PTTL vs session PTTL after set").toBeGreaterThanOrEqual(
        sessionMs - 250,
      );
      // A touch that lengthens the session lengthens the index with it: from the
      // store that indexed it, and from one that knows nothing of the index key
      // (another process). Index TTLs only ever grow, so only an outsider could
      // shorten one; the store does not re-read them on every touch.
      for (const [who, toucher] of [
        ["the indexing store", store],
        ["another store", indexed({ prefix: prefixOf.get(store)! })],
      ] as const) {
        const ttl = who === "another store" ? 1_200_000 : 600_000;
        await toucher.touch("k1", as("kai", {}, ttl));
        const [longerSession, longerIndex] = await Promise.all([pttl(key), pttl(idx)]);
        expect(longerSession, who).toBeGreaterThan(ttl - 10_000);
        expect(
          longerIndex,
          `index PTTL vs session PTTL after a longer touch by ${who}`,
        ).toBeGreaterThanOrEqual(longerSession - 250);
      }
    });

    it("a login whose index update fails is refused with a coded error and leaves no session (defect 8)", async () => {
      const target = getTarget();
      const user = await aclUser();
      const store = indexed({}, user);
      // The session keys stay writable; the index keys are refused.
      await user.keys(`~${escapeGlob(prefixOf.get(store)!)}*`);
      const err = await rejection(store.set("f1", as("fay")));
      expect(err).toBeInstanceOf(RedisStoreError);
      expect((err as RedisStoreError).sid).toBe("f1");
      // Fail closed: a session its user's index does not list would survive "log out everywhere".
      expect(await target.admin.exists(keyOf(store, "f1"))).toBe(0);
    });

    it("a touch fails when the user's index cannot be extended (defect 7)", async () => {
      const user = await aclUser();
      const store = indexed({}, user);
      await store.set("k2", as("kai", {}, 60_000));
      // The session keys stay writable; the index keys are refused from now on.
      await user.keys(`~${escapeGlob(prefixOf.get(store)!)}*`);
      const err = await rejection(store.touch("k2", as("kai", {}, 600_000)));
      expect(err).toBeInstanceOf(RedisStoreError);
    });
  });

  describe("error counters (defect 15)", () => {
    it("counts one error per failed operation", async () => {
      const user = await aclUser();
      const store = makeStore({}, user);
      await store.set("e", session());
      const counted = async (what: string, op: () => Promise<unknown>) => {
        const before = errorCount(store);
        expect(await rejection(op()), what).toBeInstanceOf(RedisStoreError);
        // Soft: one run shows every operation that miscounts, not just the first.
        expect.soft(errorCount(store) - before, `errors counted for ${what}`).toBe(1);
      };
      const cyclic = session();
      (cyclic as Record<string, unknown>).self = cyclic;
      await counted("a set that cannot be encoded", () => store.set("e", cyclic));
      // Every key refused from now on.
      await user.keys();
      await counted("a refused get", () => store.get("e"));
      await counted("a refused set", () => store.set("e", session()));
      await counted("a refused set whose cookie has expired (a destroy)", () =>
        store.set("e", session({}, -5_000)),
      );
      await counted("a refused destroy", () => store.destroy("e"));
      await counted("a refused touch", () => store.touch("e", session()));
    });

    it("does not count errors the store handles on purpose", async () => {
      const target = getTarget();
      const store = makeStore({ indexBy: byUser });
      await store.set("ok", session({ userId: "nia" }));
      await store.set("bad", session({ userId: "nia" }));
      await target.admin.set(keyOf(store, "bad"), Buffer.from([0xc1, 0xff, 0x00, 0x13]));
      const before = errorCount(store);
      // An undecodable session cannot be attributed to anyone: left out, not an error.
      expect(await store.idsFor("nia")).toEqual(["ok"]);
      // Destroying it still works; not knowing its owner is not the caller's failure.
      await store.destroy("bad");
      expect(await target.admin.exists(keyOf(store, "bad"))).toBe(0);
      expect(errorCount(store) - before, `errors: ${JSON.stringify(store.stats().errors)}`).toBe(0);
    });
  });

  describeWhen(once)("callbacks (defect 12)", () => {
    // One child process for the configurations whose callback paths differ
    // today (batched and unbatched touch, indexed set): starting node with tsx
    // costs more than the run.
    itWhen(once)(
      "an exception thrown by a callback surfaces as an uncaught exception (defaults, batch: false, indexBy)",
      async () => {
        const configs = [
          { name: "defaults" },
          { name: "batch: false", batch: false },
          { name: "indexBy", indexBy: true },
        ].map((c) => {
          const prefix = `cb-${randomUUID().slice(0, 8)}:`;
          prefixes.push(prefix);
          return { ...c, prefix };
        });
        const run = await runCallbackFixture(getTarget().url, configs);
        const ops = ["set", "get", "touch", "destroy", "length"];
        const surfaced = Object.fromEntries(
          run.results.map((r) => [`${r.config} ${r.op}`, r.surfaced]),
        );
        const expected = Object.fromEntries(
          configs.flatMap((c) => ops.map((op) => [`${c.name} ${op}`, "uncaughtException"])),
        );
        expect(surfaced, `how each throw surfaced: ${JSON.stringify(surfaced)}`).toEqual(expected);
        expect(run.calls, "times each callback was called").toEqual(
          Object.fromEntries(Object.keys(expected).map((k) => [k, 1])),
        );
        expect(run.late, "what surfaced between operations").toEqual([]);
      },
    );
  });

  describeWhen(variant.adopt === true)("a client passed in as `client` (defect 10)", () => {
    it("close() removes every listener the store added to it", async () => {
      const client = adoptedClient();
      await client.ping(); // ready, so ioredis' own listeners are in place
      const before = listenerSnapshot(client);
      const store = makeStore({ indexBy: byUser, durability: { replicas: 0 } });
      await store.set("l1", session({ userId: "lee" }));
      await store.set("l2", session({ userId: "lee" }));
      await store.get("l1");
      await store.touch("l1", session({ userId: "lee" }));
      await store.destroy("l2");
      expect(await store.idsFor("lee")).toEqual(["l1"]);
      expect(await store.destroyFor("lee")).toBe(1);
      expect(await store.length()).toBe(0);
      await store.close();
      expect(listenerSnapshot(client)).toEqual(before);
      expect(client.status).toBe("ready");
    });
  });

  describe("bad values", () => {
    it("fails get with SessionDecodeError on corrupt bytes, and keeps working", async () => {
      const target = getTarget();
      const store = makeStore();
      const key = keyOf(store, "bad");
      await target.admin.set(key, Buffer.from([0xc1, 0xff, 0x00, 0x13]));
      const err = await store.get("bad").catch((e: unknown) => e);
      expect(err).toBeInstanceOf(SessionDecodeError);
      expect(err).toMatchObject({ code: "ERR_DECODE", sid: "bad" });
      await target.admin.set(key, "{not json");
      await expect(store.get("bad")).rejects.toBeInstanceOf(SessionDecodeError);
      await store.set("good", session({ ok: true }));
      expect(await store.get("good")).toMatchObject({ ok: true });
    });

    it("fails set of a cyclic session and leaves the stored value untouched", async () => {
      const store = makeStore();
      await store.set("cyc", session({ v: "original" }));
      const cyclic = session({ v: "changed" });
      (cyclic as Record<string, unknown>).self = cyclic;
      const err = await store.set("cyc", cyclic).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(SessionEncodeError);
      expect((err as SessionEncodeError).message).toContain('"cyc"');
      expect(await store.get("cyc")).toMatchObject({ v: "original" });
    });

    it("turns WRONGTYPE into a coded RedisStoreError", async () => {
      const target = getTarget();
      const store = makeStore();
      const key = keyOf(store, "list");
      await target.admin.rpush(key, "x");
      const err = await store.get("list").catch((e: unknown) => e);
      expect(err).toBeInstanceOf(RedisStoreError);
      expect(err).toMatchObject({ code: "ERR_REDIS", sid: "list" });
      expect((err as Error).message).toMatch(/WRONGTYPE/);
      await target.admin.del(key);
    });
  });
}

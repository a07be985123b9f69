/**
 * Type-level checks of the public API as the README uses it. Compiled by
 * `npm run typecheck`, never run: every line either compiles, or is marked
 * `@ts-expect-error` because it must not. The functions are never called, so
 * constructing clients here opens no connection.
 */
import fastifyCookie from "@fastify/cookie";
import fastifySession from "@fastify/session";
import express from "express";
import session, { type SessionData, type Store } from "express-session";
import Fastify from "fastify";
import { Cluster, Redis } from "ioredis";
import { Cluster as ValkeyCluster, Redis as ValkeyRedis } from "iovalkey";
import {
  AuthenticationError,
  ConfigurationError,
  type ErrorCode,
  ErrorCodes,
  jsonSerializer,
  msgpackSerializer,
  RedisStore,
  RedisStoreError,
  type RedisStoreOptions,
  ReplicationShortfallError,
  type Serializer,
  SessionDecodeError,
  SessionEncodeError,
  type StoredSession,
  type StoreStats,
  TopologyError,
  type TopologyName,
} from "../../src/index.js";

/** Compiles only when A and B are the same type. */
type Equal<A, B> =
  (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
function assertType<_T extends true>(): void {}
function expectType<T>(_value: T): void {}

export function readmeUsage(): void {
  // The one-liner: express-session takes the store as is.
  const app = express();
  app.use(
    session({
      store: new RedisStore({ url: "redis-cluster://127.0.0.1:7000,127.0.0.1:7001" }),
      secret: "keyboard cat",
      resave: false,
      saveUninitialized: false,
    }),
  );

  // It is an express-session Store (and an EventEmitter).
  const store: Store = new RedisStore();
  store.on("disconnect", () => {});

  // Every place to connect from.
  new RedisStore({ url: "redis://user:pass@127.0.0.1:6379/2", prefix: "myapp:" });
  new RedisStore({ url: "redis-sentinel://127.0.0.1:26379,127.0.0.1:26380#mymaster" });
  new RedisStore({
    sentinel: { sentinels: ["127.0.0.1:26379", { host: "h", port: 1 }], name: "m" },
  });
  new RedisStore({
    cluster: { nodes: ["127.0.0.1:7000"] },
    clusterOptions: { scaleReads: "slave" },
  });
  new RedisStore({ standalone: { host: "127.0.0.1", port: 6379, db: 1 } });
  new RedisStore({ host: "127.0.0.1", port: 6379, pass: "secret", db: 0 });
  new RedisStore({ client: new Redis(), closeClient: true });
  new RedisStore({ client: new Cluster([{ host: "127.0.0.1", port: 7000 }]) });
  new RedisStore({
    url: "redis://127.0.0.1",
    topology: "standalone",
    redisOptions: { connectTimeout: 500 },
  });

  // TTL, touch and batching.
  new RedisStore({ ttl: 3600, touchAfter: 60, batch: { maxDelayMs: 5, maxSize: 100 } });
  new RedisStore({ ttl: (sess: SessionData) => (sess.cookie.maxAge ?? 60_000) / 1000 });
  new RedisStore({ disableTTL: true, disableTouch: true, batch: false });

  // Serializers: by name, the exported objects, or connect-redis' interface (async parse too).
  new RedisStore({ serializer: "json" });
  new RedisStore({ serializer: msgpackSerializer });
  new RedisStore({ serializer: jsonSerializer });
  const custom: Serializer = {
    stringify: (s) => JSON.stringify(s),
    parse: (raw) => JSON.parse(raw),
  };
  new RedisStore({ serializer: custom });
  new RedisStore({
    serializer: { stringify: JSON.stringify, parse: async (raw: string) => JSON.parse(raw) },
  });

  // Durability, availability, the per-user index.
  new RedisStore({ durability: { replicas: 1, timeoutMs: 500, onShortfall: "warn" } });
  new RedisStore({ disconnectGraceMs: 5000 });
  new RedisStore({ indexBy: (sess) => sess.user, indexPrefix: "users:" });

  // Options can be built apart from the constructor.
  const opts: RedisStoreOptions = { url: "redis://127.0.0.1:6379", scanCount: 500, hashTag: true };
  new RedisStore(opts);
}

export function wrongOptions(): void {
  // @ts-expect-error ttl is seconds or a function, not a string
  new RedisStore({ ttl: "1h" });
  // @ts-expect-error client settings go in redisOptions
  new RedisStore({ connectTimeout: 1000 });
  // @ts-expect-error not a topology
  new RedisStore({ topology: "replica" });
  // @ts-expect-error onShortfall is "error" or "warn"
  new RedisStore({ durability: { replicas: 1, onShortfall: "ignore" } });
  // @ts-expect-error durability needs a replica count
  new RedisStore({ durability: { timeoutMs: 100 } });
  // @ts-expect-error a serializer needs parse as well
  new RedisStore({ serializer: { stringify: JSON.stringify } });
  // @ts-expect-error not a built-in serializer name
  new RedisStore({ serializer: "cbor" });
  // @ts-expect-error a sentinel group needs its master name
  new RedisStore({ sentinel: { sentinels: ["127.0.0.1:26379"] } });
  // @ts-expect-error port is a number
  new RedisStore({ port: "6379" });
}

export async function promisesAndCallbacks(store: RedisStore): Promise<void> {
  expectType<SessionData | null>(await store.get("sid"));
  expectType<number>(await store.length());
  expectType<string[]>(await store.ids());
  const all = await store.all();
  expectType<StoredSession[]>(all);
  expectType<string | undefined>(all[0]?.id);
  const sess = (await store.get("sid"))!;
  await store.set("sid", sess);
  await store.touch("sid", sess);
  await store.destroy("sid");
  await store.clear();

  // The per-user index ("log out everywhere").
  expectType<string[]>(await store.idsFor("alice"));
  expectType<number>(await store.destroyFor("alice", { except: "current-sid" }));
  await store.close();

  // With a callback a method returns nothing: the result goes to the callback.
  const returned = store.get("sid", (err, value) => {
    expectType<SessionData | null | undefined>(value);
    if (err) expectType<unknown>(err);
  });
  assertType<Equal<typeof returned, void>>();
  store.set("sid", sess, (err) => void err);
  store.length((_err, n) => expectType<number | undefined>(n));

  assertType<Equal<typeof store.topology, TopologyName | undefined>>();
  assertType<Equal<TopologyName, "standalone" | "sentinel" | "cluster">>();
  const stats: StoreStats = store.stats();
  expectType<number>(stats.commands);
}

export function errors(err: unknown): string | undefined {
  for (const Cls of [
    ConfigurationError,
    TopologyError,
    AuthenticationError,
    SessionDecodeError,
    SessionEncodeError,
  ]) {
    expectType<RedisStoreError>(new Cls("message", { sid: "abc", cause: err }));
  }
  if (err instanceof ReplicationShortfallError) {
    expectType<number>(err.acknowledged);
    expectType<number>(err.required);
  }
  const codes: ErrorCode[] = Object.values(ErrorCodes);
  expectType<ErrorCode>(ErrorCodes.AUTH);
  if (err instanceof SessionDecodeError) return err.sid;
  if (err instanceof RedisStoreError) {
    expectType<string>(err.code);
    expectType<unknown>(err.cause);
    return codes.includes(err.code as ErrorCode) ? err.code : undefined;
  }
  return undefined;
}

export async function withFastify(): Promise<void> {
  const app = Fastify();
  await app.register(fastifyCookie);
  await app.register(fastifySession, {
    store: new RedisStore({ url: "redis://127.0.0.1:6379" }),
    secret: "a secret with at least 32 characters in it",
  });
}

/** iovalkey (an ioredis fork) clients are accepted as they are, with no cast. */
export function withIovalkey(): RedisStore[] {
  return [
    new RedisStore({ client: new ValkeyRedis() }),
    new RedisStore({ client: new ValkeyCluster([{ host: "127.0.0.1", port: 7000 }]) }),
  ];
}

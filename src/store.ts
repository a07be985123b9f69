import { debuglog } from "node:util";
import session, { type SessionData } from "express-session";
import type { ChainableCommander, Cluster, Redis } from "ioredis";
import { BoundedMap } from "./bounded-map.js";
import {
  type DurabilitySettings,
  DurableWriter,
  onlineReplicas,
  ReplicaTracker,
} from "./durability.js";
import {
  ConfigurationError,
  closedError,
  type RedisStoreError,
  SessionDecodeError,
  SessionEncodeError,
  toStoreError,
} from "./errors.js";
import { createKeyScheme, type KeyScheme } from "./keys.js";
import {
  configTypeError,
  defaults,
  type RedisStoreOptions,
  type TopologyName,
  validateOptions,
} from "./options.js";
import { isRetryable, retrying } from "./retry.js";
import { deleteKeys, forEachBatch, readValues } from "./scan.js";
import {
  type BinarySerializer,
  isBinarySerializer,
  jsonSerializer,
  msgpackSerializer,
  reviveSession,
  type Serializer,
} from "./serializer.js";
import { type AnyClient, isClusterClient, TopologyManager } from "./topology/manager.js";
import { refreshSlots } from "./topology/nodes.js";
import { type ConnectionPlan, planConnection } from "./topology/plan.js";
import { SentinelWatch } from "./topology/sentinel-watch.js";
import { TouchBatcher } from "./touch-batcher.js";
import { sessionTtl, type TtlOption, toExpireSeconds } from "./ttl.js";
import { UserIndex } from "./user-index.js";

const debug = debuglog("connect-redis-ha");

export type Callback<T> = (err: any, value?: T) => void;

/** A session as `all()` returns it: the stored data plus its id. */
export type StoredSession = SessionData & { id: string };

/** Counters of what the store has done; cheap enough to leave on. */
export interface StoreStats {
  topology: TopologyName | undefined;
  commands: number;
  pipelines: number;
  touchesCoalesced: number;
  touchesSkipped: number;
  errors: Record<string, number>;
}

// The Store base class gives express-session's regenerate/load/createSession.
const BaseStore = session.Store;

function settle<T>(promise: Promise<T>, cb: Callback<T> | undefined): Promise<T> | undefined {
  if (typeof cb !== "function") return promise;
  promise.then(
    (value) => cb(null, value),
    (err) => cb(err),
  );
  return undefined;
}

/** Remembers when this process last refreshed a session's TTL, for `touchAfter`. */
class RefreshLog {
  private readonly at = new BoundedMap<string, number>(50_000);
  constructor(private readonly windowMs: number) {}

  record(sid: string, now: number): void {
    if (this.windowMs > 0) this.at.set(sid, now);
  }

  fresh(sid: string, now: number): boolean {
    const t = this.at.get(sid);
    return t !== undefined && now - t < this.windowMs;
  }

  forget(sid: string): void {
    this.at.delete(sid);
  }
}

/**
 * express-session store for Redis standalone, Sentinel and Cluster over ioredis.
 * Every method takes an optional node-style callback; without one it returns a Promise.
 */
export class RedisStore extends BaseStore {
  private readonly manager: TopologyManager;
  private readonly prefix: string;
  private readonly hashTagOption: boolean | undefined;
  private readonly scanCount: number;
  private readonly ttl: TtlOption;
  private readonly disableTTL: boolean;
  private readonly disableTouch: boolean;
  private readonly serializer: Serializer;
  /** The serializer when it is a built-in one (bytes in, bytes out), for the fast paths. */
  private readonly binary: BinarySerializer | undefined;
  private readonly refreshLog: RefreshLog;
  private readonly batcher: TouchBatcher | undefined;
  private keys: KeyScheme;
  private configError: RedisStoreError | undefined;
  private closing: Promise<void> | undefined;
  private readonly durability: DurabilitySettings | undefined;
  private readonly tracker: ReplicaTracker | undefined;
  private readonly durableWriter: DurableWriter | undefined;
  private readonly graceMs: number;
  private readonly retryWindowMs: number;
  private watch: SentinelWatch | undefined;
  private readonly index: UserIndex | undefined;
  private readonly counters = {
    commands: 0,
    pipelines: 0,
    coalesced: 0,
    skipped: 0,
    errors: {} as Record<string, number>,
  };

  constructor(options: RedisStoreOptions = {}) {
    super();
    validateOptions(options);
    this.prefix = options.prefix ?? defaults.prefix;
    this.hashTagOption = options.hashTag;
    this.scanCount = options.scanCount ?? defaults.scanCount;
    this.ttl = options.ttl ?? defaults.ttl;
    this.disableTTL = options.disableTTL ?? defaults.disableTTL;
    this.disableTouch = options.disableTouch ?? defaults.disableTouch;
    this.refreshLog = new RefreshLog((options.touchAfter ?? defaults.touchAfter) * 1000);
    const s = options.serializer ?? defaults.serializer;
    this.serializer = s === "msgpack" ? msgpackSerializer : s === "json" ? jsonSerializer : s;
    this.binary = isBinarySerializer(this.serializer) ? this.serializer : undefined;
    this.keys = createKeyScheme(this.prefix, this.hashTagOption ?? false);
    if (options.indexBy) {
      this.index = new UserIndex(
        options.indexPrefix ?? `idx:${this.prefix}`,
        options.indexBy,
        this.counters,
        (fn) => this.retry(fn),
      );
    }
    this.graceMs = options.disconnectGraceMs ?? defaults.disconnectGraceMs;
    // Long enough to outlast a failover (1-3 s with tuned timeouts), bounded so
    // a dead Redis still fails callers.
    this.retryWindowMs = Math.max(2 * this.graceMs, 10_000);
    if (options.durability) {
      this.durability = {
        replicas: options.durability.replicas,
        timeoutMs: options.durability.timeoutMs ?? defaults.durabilityTimeoutMs,
        onShortfall: options.durability.onShortfall ?? defaults.durabilityOnShortfall,
      };
      this.tracker = new ReplicaTracker(this.durability.replicas);
      this.durableWriter = new DurableWriter({
        client: () => this.writeConnection(),
        settings: this.durability,
        tracker: this.tracker,
        retryWindowMs: this.retryWindowMs,
        onWarning: (warning) => this.emit("warning", warning),
        counters: this.counters,
      });
    }

    const batch = options.batch === false ? undefined : { ...defaults.batch, ...options.batch };
    if (batch) {
      this.batcher = new TouchBatcher(
        () => this.writeConnection(),
        batch.maxDelayMs,
        batch.maxSize,
        this.counters,
        this.retryWindowMs,
      );
    }

    // A cluster known from the options is checked now so the mistake throws at startup.
    let plan: ConnectionPlan | undefined;
    try {
      plan = options.client ? undefined : planConnection(options);
    } catch (err) {
      throw err instanceof ConfigurationError ? configTypeError(err.message, err) : err;
    }
    if (plan?.kind === "cluster") this.checkClusterPrefix(true);

    try {
      this.manager = new TopologyManager(options, plan, this.graceMs, {
        connect: () => this.emit("connect"),
        disconnect: () => this.emit("disconnect"),
        error: (err) => this.report(err),
        topology: (kind, client) => this.onTopology(kind, client),
      });
    } catch (err) {
      throw err instanceof ConfigurationError ? configTypeError(err.message, err) : err;
    }
  }

  /** `"standalone" | "sentinel" | "cluster"` once known. */
  get topology(): TopologyName | undefined {
    return this.manager.topology;
  }

  /** The ioredis client in use, once known (for advanced use; the store still owns its lifecycle). */
  get client(): AnyClient | undefined {
    return this.manager.client;
  }

  private onTopology(kind: TopologyName, client: AnyClient): void {
    const hashTag = this.hashTagOption ?? kind === "cluster";
    this.keys = createKeyScheme(this.prefix, hashTag);
    if (kind === "cluster") this.checkClusterPrefix(false);
    if (kind === "cluster" && this.tracker) {
      const cluster = client as Cluster;
      const known = new Set<string>();
      cluster.on("refresh", () => this.checkNewMasters(cluster, known));
      if (cluster.status === "ready") this.checkNewMasters(cluster, known);
    }
    if (kind === "sentinel") {
      const redis = client as Redis;
      // Held no longer than a write would be retried: a stuck failover cannot stall writes forever.
      this.watch = new SentinelWatch(redis, this.retryWindowMs, {
        holding: (reason) => debug("holding writes: sentinel failover (%s)", reason),
        released: (reason) => debug("releasing writes (%s)", reason),
      });
      // A new master may have other replicas: forget what we knew, and learn
      // at once whether it has enough, rather than from a WAIT timing out.
      redis.on("ready", () => this.checkReplicas(redis));
      if (redis.status === "ready") this.checkReplicas(redis);
    }
  }

  private checkReplicas(redis: Redis): void {
    const tracker = this.tracker;
    if (!tracker) return;
    tracker.reset();
    tracker.check("master", () => onlineReplicas(redis));
  }

  /** After a slot-map refresh, probes masters it had not seen as masters (freshly promoted ones). */
  private checkNewMasters(cluster: Cluster, known: Set<string>): void {
    const tracker = this.tracker;
    if (!tracker) return;
    const now = new Set<string>();
    for (const node of cluster.nodes("master")) {
      const id = `${node.options.host}:${node.options.port}`;
      now.add(id);
      if (!known.has(id)) tracker.check(id, () => onlineReplicas(node));
    }
    known.clear();
    for (const id of now) known.add(id);
  }

  /**
   * Runs an idempotent command through a failover (see retry.ts). On a
   * cluster each retry also asks for a fresh slot map: auto-pipelined
   * commands that meet MOVED come back failed, and until the map changes
   * they would be sent to the old owner again.
   */
  private retry<T>(fn: () => Promise<T>): Promise<T> {
    return retrying(
      fn,
      this.retryWindowMs,
      () => this.closing !== undefined,
      (err) => {
        const client = this.manager.client;
        if (
          client &&
          isClusterClient(client) &&
          /MOVED|ASK|CLUSTERDOWN|closed|ECONN/i.test(String(err))
        ) {
          refreshSlots(client);
        }
      },
    );
  }

  /** The client for a write: waits while a Sentinel failover is in progress. */
  private async writeConnection(): Promise<AnyClient> {
    const client = await this.connection();
    const gate = this.watch?.wait();
    if (gate) await gate;
    return client;
  }

  /**
   * Sends one write (SET or UNLINK). With `durability`, the write and its
   * WAIT go as one pipeline that is resent whole if the write moved.
   */
  private async write(
    op: string,
    sid: string,
    key: string,
    plain: (client: AnyClient) => Promise<unknown>,
    piped: (p: ChainableCommander) => void,
  ): Promise<void> {
    if (this.durableWriter) {
      await this.durableWriter.write(op, sid, key, piped);
      return;
    }
    const client = await this.writeConnection();
    this.counters.commands++;
    await this.retry(() => plain(client));
  }

  private checkClusterPrefix(atConstruction: boolean): void {
    if (!/[{}]/.test(this.prefix)) return;
    const err = new ConfigurationError(
      `The key \`prefix\` "${this.prefix}" contains "{" or "}"; on a Redis Cluster that hash tag ` +
        "would put every session in one slot on one master. Use a prefix without braces.",
    );
    if (atConstruction) throw configTypeError(err.message);
    this.configError = err;
    this.report(err);
  }

  /** Errors go to listeners when there are any, else to the debug log; never crash. */
  private report(err: RedisStoreError): void {
    this.counters.errors[err.code] = (this.counters.errors[err.code] ?? 0) + 1;
    if (this.listenerCount("error") > 0) this.emit("error", err);
    else debug("%s", err.stack ?? err.message);
  }

  private fail(err: unknown, op: string, sid?: string, key?: string): RedisStoreError {
    const details: { sid?: string; key?: string } = {};
    if (sid !== undefined) details.sid = sid;
    if (key !== undefined) details.key = key;
    const wrapped = toStoreError(err, op, details);
    this.counters.errors[wrapped.code] = (this.counters.errors[wrapped.code] ?? 0) + 1;
    return wrapped;
  }

  private async connection(): Promise<AnyClient> {
    if (this.closing) throw closedError();
    const client = await this.manager.get();
    if (this.configError) throw this.configError;
    return client;
  }

  private seconds(sid: string, sess: unknown): number {
    const ttl = sessionTtl(sess, this.ttl);
    if (typeof ttl !== "number" || Number.isNaN(ttl)) {
      throw new ConfigurationError(
        `The \`ttl\` function returned ${String(ttl)} for session "${sid}"; it must return a number of seconds`,
        { sid },
      );
    }
    return ttl;
  }

  private encode(sid: string, sess: unknown): string | Uint8Array {
    try {
      return this.binary ? this.binary.encode(sess) : this.serializer.stringify(sess);
    } catch (err) {
      throw new SessionEncodeError(
        `Session "${sid}" could not be serialized (${(err as Error).message}); nothing was written`,
        { sid, cause: err },
      );
    }
  }

  private async decode(sid: string, key: string, raw: Buffer | string): Promise<SessionData> {
    if (this.binary) return this.decodeBinary(this.binary, sid, key, raw as Buffer);
    let value: unknown;
    try {
      value = await this.serializer.parse(raw as string);
    } catch (err) {
      throw decodeError(sid, key, err);
    }
    return this.asSession(sid, key, value);
  }

  /** Synchronous decode with a built-in serializer: no extra promise on the hot path. */
  private decodeBinary(serializer: BinarySerializer, sid: string, key: string, raw: Buffer) {
    let value: unknown;
    try {
      value = serializer.decode(raw);
    } catch (err) {
      throw decodeError(sid, key, err);
    }
    return this.asSession(sid, key, value);
  }

  private asSession(sid: string, key: string, value: unknown): SessionData {
    if (value === null || typeof value !== "object" || Array.isArray(value)) {
      throw new SessionDecodeError(
        `The value stored at "${key}" for session "${sid}" decoded to ${value === null ? "null" : typeof value}, not a session object`,
        { sid, key },
      );
    }
    return reviveSession(value) as SessionData;
  }

  // ---- express-session's Store contract ----

  override get(sid: string): Promise<SessionData | null>;
  override get(sid: string, cb: Callback<SessionData | null>): void;
  override get(sid: string, cb?: Callback<SessionData | null>): any {
    return settle(this.fastGet(sid), cb);
  }

  /**
   * The common case in one promise chain: client known, built-in serializer.
   * Anything else, and any retryable failure, takes the general path.
   */
  private fastGet(sid: string): Promise<SessionData | null> {
    const client = this.readyClient();
    const binary = this.binary;
    if (client === undefined || binary === undefined) return this.doGet(sid);
    const key = this.keys.key(sid);
    this.counters.commands++;
    return client.getBuffer(key).then(
      (raw) => {
        if (raw === null) return null;
        try {
          return this.decodeBinary(binary, sid, key, raw);
        } catch (err) {
          throw this.fail(err, "get", sid, key);
        }
      },
      (err) =>
        isRetryable(err) ? this.doGet(sid) : Promise.reject(this.fail(err, "get", sid, key)),
    );
  }

  /** The client when it is known and usable now; undefined sends callers down the general path. */
  private readyClient(): AnyClient | undefined {
    if (this.closing || this.configError) return undefined;
    return this.manager.client;
  }

  private async doGet(sid: string): Promise<SessionData | null> {
    let key = this.keys.key(sid);
    let raw: Buffer | string | null;
    try {
      const client = await this.connection();
      // Recomputed: the key scheme may have changed once the topology was known.
      const k = this.keys.key(sid);
      key = k;
      this.counters.commands++;
      raw = await this.retry<Buffer | string | null>(() =>
        this.binary ? client.getBuffer(k) : client.get(k),
      );
    } catch (err) {
      throw this.fail(err, "get", sid, key);
    }
    if (raw === null) return null;
    try {
      return await this.decode(sid, key, raw);
    } catch (err) {
      throw this.fail(err, "get", sid, key);
    }
  }

  override set(sid: string, sess: SessionData): Promise<void>;
  override set(sid: string, sess: SessionData, cb: Callback<void>): void;
  override set(sid: string, sess: SessionData, cb?: Callback<void>): any {
    return settle(this.fastSet(sid, sess), cb);
  }

  /** A plain SET when nothing else has to happen (no durability, no index, no destroy). */
  private fastSet(sid: string, sess: SessionData): Promise<void> {
    const client = this.readyClient();
    if (client === undefined || this.durableWriter || this.watch?.holding) {
      return this.doSet(sid, sess);
    }
    const key = this.keys.key(sid);
    let ttl: number | undefined;
    let value: string | Uint8Array;
    let user: string | undefined;
    try {
      ttl = this.disableTTL ? undefined : this.seconds(sid, sess);
      if (ttl !== undefined && ttl <= 0) return this.doSet(sid, sess);
      value = this.encode(sid, sess);
      user = this.index?.userOf(sid, sess);
    } catch (err) {
      return Promise.reject(this.fail(err, "set", sid, key));
    }
    const now = Date.now();
    const seconds = ttl === undefined ? undefined : toExpireSeconds(ttl);
    const ttlMs = seconds === undefined ? Number.POSITIVE_INFINITY : seconds * 1000;
    if (user === undefined) this.index?.forget(sid);
    else if (this.index!.known(client, sid, user, ttlMs)) {
      // Already listed in this user's index, which outlives the new TTL: XX
      // proves the session still exists, so it still is. A session gone in
      // the meantime is not written, and gets the full path instead.
      return this.sendSet(client, key, value, seconds, true).then(
        (reply) => (reply === null ? this.doSet(sid, sess) : this.refreshLog.record(sid, now)),
        (err) =>
          isRetryable(err)
            ? this.doSet(sid, sess)
            : Promise.reject(this.fail(err, "set", sid, key)),
      );
    }
    // Index and session in the same turn, one round trip: the index addition
    // joins this turn's batch (one script call per node for every set of the
    // turn), which goes out in the same socket write as the SET. The set
    // resolves only once both are applied.
    const indexed = user === undefined ? undefined : this.index!.add(client, user, sid, ttlMs);
    const sent = this.sendSet(client, key, value, seconds, false);
    const both = indexed ? Promise.all([indexed, sent]) : sent;
    return both.then(
      () => {
        if (indexed) this.index!.remember(client, sid, user!);
        this.refreshLog.record(sid, now);
      },
      (err) => {
        if (isRetryable(err)) return this.doSet(sid, sess);
        const failure = this.fail(err, "set", sid, key);
        if (!indexed) return Promise.reject(failure);
        // Fail closed: a session its user's index may not list would survive
        // "log out everywhere", so one whose index update failed is removed.
        return sent.then(
          () => client.unlink(key).then(() => Promise.reject(failure)),
          () => Promise.reject(failure),
        );
      },
    );
  }

  /** One SET, with EX when the session expires; `onlyIfExists` adds XX (null: nothing written). */
  private sendSet(
    client: AnyClient,
    key: string,
    value: string | Uint8Array,
    seconds: number | undefined,
    onlyIfExists: boolean,
  ): Promise<"OK" | null> {
    this.counters.commands++;
    const v = value as string;
    if (seconds === undefined) return onlyIfExists ? client.set(key, v, "XX") : client.set(key, v);
    return onlyIfExists
      ? client.set(key, v, "EX", seconds, "XX")
      : client.set(key, v, "EX", seconds);
  }

  private async doSet(sid: string, sess: SessionData): Promise<void> {
    let key = this.keys.key(sid);
    try {
      const ttl = this.disableTTL ? undefined : this.seconds(sid, sess);
      if (ttl !== undefined && ttl <= 0) {
        await this.doDestroy(sid);
        return;
      }
      const value = this.encode(sid, sess) as string;
      const user = this.index?.userOf(sid, sess);
      const client = await this.connection();
      key = this.keys.key(sid);
      const k = key;
      const now = Date.now();
      if (user !== undefined) {
        // Index first: a stale index entry is pruned on read, but a session
        // missing from its user's index would survive "log out everywhere".
        const ttlMs = ttl === undefined ? Number.POSITIVE_INFINITY : toExpireSeconds(ttl) * 1000;
        await this.index!.add(client, user, sid, ttlMs);
      } else {
        this.index?.forget(sid);
      }
      if (ttl === undefined) {
        await this.write(
          "set",
          sid,
          k,
          (c) => c.set(k, value),
          (p) => p.set(k, value),
        );
      } else {
        const ex = toExpireSeconds(ttl);
        await this.write(
          "set",
          sid,
          k,
          (c) => c.set(k, value, "EX", ex),
          (p) => p.set(k, value, "EX", ex),
        );
      }
      if (user !== undefined) this.index!.remember(client, sid, user);
      this.refreshLog.record(sid, now);
    } catch (err) {
      throw this.fail(err, "set", sid, key);
    }
  }

  override touch(sid: string, sess: SessionData): Promise<void>;
  override touch(sid: string, sess: SessionData, cb: Callback<void>): void;
  override touch(sid: string, sess: SessionData, cb?: Callback<void>): any {
    // express-session passes a callback: it goes straight to the batcher, no promise made.
    if (typeof cb === "function") return void this.touchWith(sid, sess, cb);
    return new Promise<void>((resolve, reject) =>
      this.touchWith(sid, sess, (err) => (err ? reject(err) : resolve())),
    );
  }

  /** The one touch path; `done` gets null or a RedisStoreError. */
  private touchWith(sid: string, sess: SessionData, done: (err: RedisStoreError | null) => void) {
    if (this.disableTTL || this.disableTouch) return done(null);
    const now = Date.now();
    if (this.refreshLog.fresh(sid, now)) {
      this.counters.skipped++;
      return done(null);
    }
    let seconds: number;
    let indexKey: string | undefined;
    try {
      seconds = toExpireSeconds(this.seconds(sid, sess));
      const user = this.index?.userOf(sid, sess);
      if (user !== undefined) indexKey = this.index!.key(user);
    } catch (err) {
      return done(this.fail(err, "touch", sid));
    }
    const send = () => {
      const key = this.keys.key(sid);
      const finish = (err: Error | null) => {
        if (err) return done(this.fail(err, "touch", sid, key));
        this.refreshLog.record(sid, now);
        done(null);
      };
      // The user's index must outlive this session; most of the time this
      // process already knows it does (see UserIndex.covers).
      const ready = this.readyClient();
      const extend =
        indexKey !== undefined && !(ready && this.index!.covers(ready, indexKey, seconds * 1000))
          ? indexKey
          : undefined;
      if (this.batcher) {
        this.batcher.add(key, seconds, finish);
        // A failure here only delays the index key's expiry, so it is not the caller's error.
        if (extend) this.batcher.add(extend, seconds, () => {}, true);
        return;
      }
      this.counters.commands += extend ? 2 : 1;
      this.writeConnection()
        .then((client) =>
          Promise.all([
            this.retry(() => client.expire(key, seconds)),
            extend && this.retry(() => client.expire(extend, seconds, "GT")),
          ]),
        )
        .then(
          () => finish(null),
          (err: Error) => finish(err),
        );
    };
    // Until the topology is known the key scheme is not (hash tags on a
    // cluster); a closed or misconfigured store fails here with its own error.
    if (this.readyClient()) return send();
    this.connection().then(send, (err) => done(this.fail(err, "touch", sid)));
  }

  override destroy(sid: string): Promise<void>;
  override destroy(sid: string, cb: Callback<void>): void;
  override destroy(sid: string, cb?: Callback<void>): any {
    return settle(this.fastDestroy(sid), cb);
  }

  /**
   * UNLINK sent synchronously when nothing else has to happen, like fastSet:
   * calls made in order reach Redis in order, so a destroy between two sets
   * of one sid lands between them.
   */
  private fastDestroy(sid: string): Promise<void> {
    const client = this.readyClient();
    if (client === undefined || this.durableWriter || this.index || this.watch?.holding) {
      return this.doDestroy(sid);
    }
    const key = this.keys.key(sid);
    this.counters.commands++;
    return client.unlink(key).then(
      () => this.refreshLog.forget(sid),
      (err) =>
        isRetryable(err)
          ? this.doDestroy(sid)
          : Promise.reject(this.fail(err, "destroy", sid, key)),
    );
  }

  private async doDestroy(sid: string): Promise<void> {
    const key = this.keys.key(sid);
    try {
      const client = await this.connection();
      const k = this.keys.key(sid);
      // With an index, learn whose session this is before it is gone.
      const user = this.index ? await this.ownerOf(sid) : undefined;
      await this.write(
        "destroy",
        sid,
        k,
        (c) => c.unlink(k),
        (p) => p.unlink(k),
      );
      this.refreshLog.forget(sid);
      this.index?.forget(sid);
      if (user !== undefined) await this.index!.drop(client, user, [sid], this.ttlOf);
    } catch (err) {
      throw this.fail(err, "destroy", sid, key);
    }
  }

  override length(): Promise<number>;
  override length(cb: Callback<number>): void;
  override length(cb?: Callback<number>): any {
    return settle(
      this.walk("length", async (_client, _node, keys) => keys.length).then((counts) =>
        counts.reduce((a, b) => a + b, 0),
      ),
      cb,
    );
  }

  /** Every session id under the prefix, on every master. */
  ids(): Promise<string[]>;
  ids(cb: Callback<string[]>): void;
  ids(cb?: Callback<string[]>): any {
    return settle(
      this.walk("ids", async (_c, _n, keys) => keys.map((k) => this.keys.sid(k)!)).then((parts) =>
        parts.flat(),
      ),
      cb,
    );
  }

  override all(): Promise<StoredSession[]>;
  override all(cb: Callback<StoredSession[]>): void;
  override all(cb?: Callback<StoredSession[]>): any {
    return settle(
      this.walk("all", async (client, node, keys) => {
        const values = await readValues(client, node, keys);
        this.counters.commands++;
        const out: StoredSession[] = [];
        for (let i = 0; i < keys.length; i++) {
          const raw = values[i];
          if (raw === null || raw === undefined) continue; // expired between SCAN and read
          const sid = this.keys.sid(keys[i]!)!;
          const data = await this.decode(sid, keys[i]!, this.binary ? raw : raw.toString("utf8"));
          out.push(Object.assign(data, { id: sid }));
        }
        return out;
      }).then((parts) => parts.flat()),
      cb,
    );
  }

  override clear(): Promise<void>;
  override clear(cb: Callback<void>): void;
  override clear(cb?: Callback<void>): any {
    return settle(
      this.walk("clear", async (client, node, keys) => {
        this.counters.commands++;
        await deleteKeys(client, node, keys);
        for (const k of keys) this.refreshLog.forget(this.keys.sid(k)!);
        return 0;
      }).then(() => undefined),
      cb,
    );
  }

  /** Walks every key of this store on every master, one SCAN batch at a time. */
  private async walk<T>(
    op: string,
    onBatch: (client: AnyClient, node: Redis, keys: string[]) => Promise<T>,
  ): Promise<T[]> {
    try {
      const client = await this.connection();
      const keys = this.keys;
      const results: T[] = [];
      await forEachBatch(client, keys.pattern, this.scanCount, async (node, batch) => {
        this.counters.commands++;
        // MATCH is a superset on a cluster (a tagged key's tail); keep only our keys.
        const mine = batch.filter((k) => keys.owns(k));
        if (mine.length > 0) results.push(await onBatch(client, node, mine));
      });
      return results;
    } catch (err) {
      throw this.fail(err, op);
    }
  }

  /** A session key's PTTL (-2: missing, -1: no expiry), for the index's re-checks. */
  private readonly ttlOf = async (sid: string): Promise<number> => {
    const client = await this.connection();
    this.counters.commands++;
    return client.pttl(this.keys.key(sid));
  };

  /** The user of a stored session, or undefined (missing, undecodable, or no user). */
  private async ownerOf(sid: string): Promise<string | undefined> {
    try {
      const session = await this.doGet(sid);
      return session ? this.index!.userOf(sid, session) : undefined;
    } catch {
      return undefined;
    }
  }

  /**
   * Live session ids of `userId` (requires `indexBy`). Sessions that expired,
   * were destroyed, or now belong to someone else are left out and pruned.
   */
  idsFor(userId: string): Promise<string[]>;
  idsFor(userId: string, cb: Callback<string[]>): void;
  idsFor(userId: string, cb?: Callback<string[]>): any {
    return settle(this.doIdsFor(userId), cb);
  }

  private async doIdsFor(userId: string): Promise<string[]> {
    const index = this.requireIndex("idsFor");
    try {
      const client = await this.connection();
      return await index.live(client, String(userId), (sid) => this.doGet(sid), this.ttlOf);
    } catch (err) {
      throw this.fail(err, "idsFor");
    }
  }

  /**
   * Destroys every live session of `userId` ("log out everywhere"), except
   * `options.except` when given (the current session). Resolves with how many
   * live sessions were destroyed. Requires `indexBy`.
   */
  destroyFor(userId: string, options?: { except?: string }): Promise<number>;
  destroyFor(userId: string, options: { except?: string } | undefined, cb: Callback<number>): void;
  destroyFor(userId: string, options?: { except?: string }, cb?: Callback<number>): any {
    return settle(this.doDestroyFor(userId, options?.except), cb);
  }

  private async doDestroyFor(userId: string, except: string | undefined): Promise<number> {
    const index = this.requireIndex("destroyFor");
    try {
      const client = await this.connection();
      const user = String(userId);
      const live = await index.live(client, user, (sid) => this.doGet(sid), this.ttlOf);
      const doomed = live.filter((sid) => sid !== except);
      await Promise.all(
        doomed.map((sid) => {
          const k = this.keys.key(sid);
          this.refreshLog.forget(sid);
          return this.write(
            "destroyFor",
            sid,
            k,
            (c) => c.unlink(k),
            (p) => p.unlink(k),
          );
        }),
      );
      if (doomed.length > 0) await index.drop(client, user, doomed, this.ttlOf);
      return doomed.length;
    } catch (err) {
      throw this.fail(err, "destroyFor");
    }
  }

  private requireIndex(op: string): UserIndex {
    if (!this.index) {
      throw new ConfigurationError(
        `\`${op}\` needs the per-user index: set the \`indexBy\` option, e.g. indexBy: (session) => session.userId`,
      );
    }
    return this.index;
  }

  /** Counters since the store was created. */
  stats(): StoreStats {
    return {
      topology: this.manager.topology,
      commands: this.counters.commands,
      pipelines: this.counters.pipelines,
      touchesCoalesced: this.counters.coalesced,
      touchesSkipped: this.counters.skipped,
      errors: { ...this.counters.errors },
    };
  }

  /** Sends pending touches, then quits the client if the store built it (or `closeClient`). */
  close(): Promise<void> {
    if (!this.closing) {
      this.closing = (async () => {
        await this.batcher?.drain();
        this.watch?.close();
        this.tracker?.close();
        await this.manager.close();
      })();
    }
    return this.closing;
  }
}

function decodeError(sid: string, key: string, err: unknown): SessionDecodeError {
  return new SessionDecodeError(
    `The value stored at "${key}" for session "${sid}" could not be decoded (${(err as Error).message}). ` +
      "Delete the key or fix the serializer.",
    { sid, key, cause: err },
  );
}

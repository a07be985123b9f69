import { debuglog } from "node:util";
import session, { type SessionData } from "express-session";
import type { Redis } from "ioredis";
import { type BulkContext, clearAll, countSessions, listIds, readAll } from "./bulk.js";
import { DurableWriter } from "./durability.js";
import {
  ConfigurationError,
  closedError,
  configTypeError,
  type RedisStoreError,
  toStoreError,
} from "./errors.js";
import { createKeyScheme } from "./keys.js";
import { Operations } from "./operations.js";
import {
  type RedisStoreOptions,
  type ResolvedOptions,
  resolveOptions,
  type TopologyName,
} from "./options.js";
import type { PlanContext } from "./planner.js";
import { ReplicaTracker, watchReplicas } from "./replicas.js";
import { retrying } from "./retry.js";
import { decodeSession } from "./serializer.js";
import { TurnCork } from "./topology/cork.js";
import { type AnyClient, isClusterClient, TopologyManager } from "./topology/manager.js";
import { clusterReady, hasSlotMap, refreshSlots } from "./topology/nodes.js";
import { type ConnectionPlan, planConnection } from "./topology/plan.js";
import { SentinelWatch } from "./topology/sentinel-watch.js";
import { DirectTouches, TouchBatcher } from "./touch-batcher.js";
import { UserIndex } from "./user-index.js";
import { HeldWriter, PlainWriter, type Retry } from "./writer.js";

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

const toUndefined = () => undefined;

/**
 * express-session store for Redis standalone, Sentinel and Cluster over ioredis.
 * Every method takes an optional node-style callback; without one it returns a Promise.
 *
 * This class is the face express-session sees: call styles, events, wiring,
 * stats and close. What an operation sends is planned in planner.ts and sent
 * by operations.ts through the writer chosen here, once.
 */
export class RedisStore extends BaseStore {
  private readonly options: ResolvedOptions;
  private readonly manager: TopologyManager;
  private readonly plan: PlanContext;
  private readonly ops: Operations;
  private readonly index: UserIndex | undefined;
  private readonly tracker: ReplicaTracker | undefined;
  private readonly bulk: BulkContext;
  private watch: SentinelWatch | undefined;
  /** Listeners added to the client, removed on close (a borrowed client is returned as found). */
  private readonly detach: Array<() => void> = [];
  private configError: RedisStoreError | undefined;
  private closing: Promise<void> | undefined;
  private readonly counters = {
    commands: 0,
    pipelines: 0,
    coalesced: 0,
    skipped: 0,
    errors: {} as Record<string, number>,
  };

  constructor(input: RedisStoreOptions = {}) {
    super();
    const options = resolveOptions(input);
    this.options = options;
    const plan: PlanContext = {
      keys: createKeyScheme(options.prefix, options.hashTag ?? false),
      ttl: options.ttl,
      disableTTL: options.disableTTL,
      codec: options.codec,
      indexBy: options.indexBy,
    };
    this.plan = plan;
    // One key scheme for both: it changes once the topology is known (onTopology).
    this.bulk = {
      get keys() {
        return plan.keys;
      },
      scanCount: options.scanCount,
      counters: this.counters,
    };
    const cork = new TurnCork();
    const announce = (client: AnyClient, commands: number) =>
      commands > 1 ? cork.hold(client) : cork.cork(client);
    const retry = this.retry;
    if (options.indexBy) this.index = new UserIndex(options.indexPrefix, this.counters, retry);
    let writer = new PlainWriter(retry, this.counters) as PlainWriter | DurableWriter;
    if (options.durability) {
      this.tracker = new ReplicaTracker(options.durability.replicas, options.durability.timeoutMs);
      writer = new DurableWriter({
        settings: options.durability,
        tracker: this.tracker,
        retryWindowMs: options.retryWindowMs,
        onWarning: (warning) => this.emit("warning", warning),
        counters: this.counters,
      });
    }
    const batch = options.batch;
    this.ops = new Operations({
      options,
      plan: this.plan,
      counters: this.counters,
      // Held no longer than a write would be retried (see SentinelWatch).
      writer: new HeldWriter(writer, () => this.watch?.wait()),
      touches: batch
        ? new TouchBatcher(batch.maxDelayMs, batch.maxSize, this.counters, retry, announce)
        : new DirectTouches(retry, this.counters, announce),
      index: this.index,
      retry,
      cork,
    });

    // A cluster known from the options is checked now so the mistake throws at startup.
    let connection: ConnectionPlan | undefined;
    try {
      connection = input.client ? undefined : planConnection(input);
    } catch (err) {
      throw err instanceof ConfigurationError ? configTypeError(err.message, err) : err;
    }
    if (connection?.kind === "cluster") this.checkClusterPrefix(true);
    try {
      this.manager = new TopologyManager(input, connection, options.disconnectGraceMs, {
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
    const keys = createKeyScheme(this.options.prefix, this.options.hashTag ?? kind === "cluster");
    (this.plan as { keys: typeof keys }).keys = keys;
    if (kind === "cluster") this.checkClusterPrefix(false);
    if (this.tracker) this.detach.push(watchReplicas(client, kind, this.tracker));
    if (kind === "sentinel") {
      this.watch = new SentinelWatch(client as Redis, this.options.retryWindowMs, {
        holding: (reason) => debug("holding writes: sentinel failover (%s)", reason),
        released: (reason) => debug("releasing writes (%s)", reason),
      });
    }
  }

  /**
   * Runs an idempotent command through a failover (see retry.ts). On a
   * cluster each retry also asks for a fresh slot map: until the map
   * changes, a command that met MOVED would go to the old owner again.
   */
  private readonly retry: Retry = (fn) =>
    retrying(
      fn,
      this.options.retryWindowMs,
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

  private checkClusterPrefix(atConstruction: boolean): void {
    if (!/[{}]/.test(this.options.prefix)) return;
    const err = new ConfigurationError(
      `The key \`prefix\` "${this.options.prefix}" contains "{" or "}"; on a Redis Cluster that hash tag ` +
        "would put every session in one slot on one master. Use a prefix without braces.",
    );
    if (atConstruction) throw configTypeError(err.message);
    this.configError = err;
    this.report(err);
  }

  /** Errors go to listeners when there are any, else to the debug log; never crash. */
  private report(err: RedisStoreError): void {
    this.count(err);
    if (this.listenerCount("error") > 0) this.emit("error", err);
    else debug("%s", err.stack ?? err.message);
  }

  private count(err: RedisStoreError): RedisStoreError {
    this.counters.errors[err.code] = (this.counters.errors[err.code] ?? 0) + 1;
    return err;
  }

  /** The client when operations can go to it now, in call order. */
  private usable(): AnyClient | undefined {
    if (this.closing || this.configError) return undefined;
    const client = this.manager.client;
    // A cluster without its slot map cannot route yet (see clusterReady).
    if (client !== undefined && isClusterClient(client) && !hasSlotMap(client)) return;
    return client;
  }

  /** The client once known; calls waiting here resume in the order they came. */
  private async connection(): Promise<AnyClient> {
    if (this.closing) throw closedError();
    const client = await this.manager.get();
    if (isClusterClient(client)) await clusterReady(client);
    if (this.configError) throw this.configError;
    if (this.closing) throw closedError();
    return client;
  }

  /**
   * Runs one operation and hands its outcome to the caller: a callback is
   * called once, on its own tick (outside any promise chain, so what it
   * throws is an uncaught exception, as with Node's own callback APIs);
   * without one a Promise. Every error is a RedisStoreError, counted once.
   */
  private run<T>(
    op: string,
    sid: string | undefined,
    cb: Callback<T> | undefined,
    fn: (client: AnyClient) => Promise<unknown>,
    result?: (value: unknown) => T,
  ): Promise<T> | undefined {
    let promise: Promise<unknown>;
    const client = this.usable();
    if (client !== undefined) {
      try {
        promise = fn(client);
      } catch (err) {
        promise = Promise.reject(err);
      }
    } else {
      promise = this.connection().then(fn);
    }
    const fail = (err: unknown) =>
      this.count(toStoreError(err, op, sid === undefined ? {} : { sid }));
    if (typeof cb === "function") {
      promise.then(
        (value) => process.nextTick(cb, null, result ? result(value) : value),
        (err: unknown) => process.nextTick(cb, fail(err)),
      );
      return undefined;
    }
    return promise.then(result, (err: unknown) => Promise.reject(fail(err))) as Promise<T>;
  }

  // ---- express-session's Store contract ----

  override get(sid: string): Promise<SessionData | null>;
  override get(sid: string, cb: Callback<SessionData | null>): void;
  override get(sid: string, cb?: Callback<SessionData | null>): any {
    return this.run("get", sid, cb, (client) => this.ops.get(client, sid));
  }

  override set(sid: string, sess: SessionData): Promise<void>;
  override set(sid: string, sess: SessionData, cb: Callback<void>): void;
  override set(sid: string, sess: SessionData, cb?: Callback<void>): any {
    return this.run("set", sid, cb, (client) => this.ops.set(client, sid, sess), toUndefined);
  }

  override touch(sid: string, sess: SessionData): Promise<void>;
  override touch(sid: string, sess: SessionData, cb: Callback<void>): void;
  override touch(sid: string, sess: SessionData, cb?: Callback<void>): any {
    return this.run(
      "touch",
      sid,
      cb,
      (client) =>
        new Promise<void>((resolve, reject) =>
          this.ops.touch(client, sid, sess, (err) => (err ? reject(err) : resolve())),
        ),
      toUndefined,
    );
  }

  override destroy(sid: string): Promise<void>;
  override destroy(sid: string, cb: Callback<void>): void;
  override destroy(sid: string, cb?: Callback<void>): any {
    return this.run("destroy", sid, cb, (client) => this.ops.destroy(client, sid), toUndefined);
  }

  override length(): Promise<number>;
  override length(cb: Callback<number>): void;
  override length(cb?: Callback<number>): any {
    return this.run("length", undefined, cb, (client) => countSessions(client, this.bulk));
  }

  /** Every session id under the prefix, on every master. */
  ids(): Promise<string[]>;
  ids(cb: Callback<string[]>): void;
  ids(cb?: Callback<string[]>): any {
    return this.run("ids", undefined, cb, (client) => listIds(client, this.bulk));
  }

  override all(): Promise<StoredSession[]>;
  override all(cb: Callback<StoredSession[]>): void;
  override all(cb?: Callback<StoredSession[]>): any {
    return this.run("all", undefined, cb, (client) =>
      readAll(client, this.bulk, (sid, key, raw) =>
        decodeSession(this.options.codec, sid, key, raw),
      ),
    );
  }

  override clear(): Promise<void>;
  override clear(cb: Callback<void>): void;
  override clear(cb?: Callback<void>): any {
    return this.run(
      "clear",
      undefined,
      cb,
      (client) => clearAll(client, this.bulk, (sid) => this.ops.forget(sid)),
      toUndefined,
    );
  }

  /**
   * Live session ids of `userId` (requires `indexBy`). Sessions that expired,
   * were destroyed, or now belong to someone else are left out and pruned.
   */
  idsFor(userId: string): Promise<string[]>;
  idsFor(userId: string, cb: Callback<string[]>): void;
  idsFor(userId: string, cb?: Callback<string[]>): any {
    return this.run("idsFor", undefined, cb, (client) =>
      this.ops.idsFor(client, this.requireIndex("idsFor", userId)),
    );
  }

  /**
   * Destroys every live session of `userId` ("log out everywhere"), except
   * `options.except` when given (the current session). Resolves with how many
   * live sessions were destroyed; rejects when any listed session could not
   * be checked or destroyed (after destroying the others). Requires `indexBy`.
   */
  destroyFor(userId: string, options?: { except?: string }): Promise<number>;
  destroyFor(userId: string, options: { except?: string } | undefined, cb: Callback<number>): void;
  destroyFor(userId: string, options?: { except?: string }, cb?: Callback<number>): any {
    return this.run("destroyFor", undefined, cb, (client) =>
      this.ops.destroyFor(client, this.requireIndex("destroyFor", userId), options?.except),
    );
  }

  private requireIndex(op: string, userId: string): string {
    if (!this.index) {
      throw new ConfigurationError(
        `\`${op}\` needs the per-user index: set the \`indexBy\` option, e.g. indexBy: (session) => session.userId`,
      );
    }
    return String(userId);
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
      // Set first: calls made from here on fail with ERR_CLOSED; the drain still sends what is queued.
      this.closing = (async () => {
        await this.ops.drain();
        this.watch?.close();
        this.tracker?.close();
        this.index?.close();
        for (const off of this.detach.splice(0)) off();
        await this.manager.close();
      })();
    }
    return this.closing;
  }
}

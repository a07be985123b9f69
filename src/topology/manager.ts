import { Cluster, type ClusterOptions, Redis, type RedisOptions } from "ioredis";
import {
  ConfigurationError,
  closedError,
  isAuthError,
  type RedisStoreError,
  TopologyError,
  toStoreError,
} from "../errors.js";
import type { RedisStoreOptions, TopologyName } from "../options.js";
import { assertCompatibleClient } from "./client-check.js";
import type { ConnectionPlan } from "./plan.js";
import { failWaiting, type SetupState, setupFailure } from "./setup-failures.js";
import type { HostPort } from "./url.js";

export type AnyClient = Redis | Cluster;

export interface ManagerEvents {
  connect(): void;
  disconnect(): void;
  error(err: RedisStoreError): void;
  topology(kind: TopologyName, client: AnyClient): void;
}

/** ioredis Cluster (and iovalkey's) set `isCluster`; instanceof fails across copies of the library. */
export function isClusterClient(client: unknown): client is Cluster {
  return (client as { isCluster?: boolean } | null)?.isCluster === true;
}

export function clientTopology(client: AnyClient): TopologyName {
  if (isClusterClient(client)) return "cluster";
  const sentinels = (client as Redis).options?.sentinels;
  return Array.isArray(sentinels) && sentinels.length > 0 ? "sentinel" : "standalone";
}

// A READONLY reply means our connection still points at a demoted master:
// reconnect (sentinel gives the new master) and resend the command.
const reconnectOnReadonly = (err: Error) => (err.message.startsWith("READONLY") ? 2 : false);

/**
 * Builds or adopts the client, tells which topology it is, and turns the
 * client's connection events into the store's connect/disconnect events.
 */
export class TopologyManager {
  client: AnyClient | undefined;
  topology: TopologyName | undefined;
  readonly owned: boolean;
  private pending: Promise<AnyClient> | undefined;
  private graceTimer: NodeJS.Timeout | undefined;
  private state: "initial" | "up" | "down" = "initial";
  private closed = false;
  private readonly detach: Array<() => void> = [];

  constructor(
    private readonly opts: RedisStoreOptions,
    private readonly plan: ConnectionPlan | undefined,
    private readonly graceMs: number,
    private readonly events: ManagerEvents,
  ) {
    // Before anything is armed or subscribed: a refused client leaves nothing behind.
    if (opts.client !== undefined) assertCompatibleClient(opts.client);
    this.owned = opts.client === undefined || opts.closeClient === true;
    this.armGrace();
    if (opts.client !== undefined) {
      this.adopt(opts.client);
    } else if (plan!.kind === "detect") {
      this.pending = this.detect(plan!);
      // A failed detection is retried by the next operation; the failure reaches that caller.
      this.pending.catch(() => {});
    } else {
      this.adopt(this.build(plan!));
    }
  }

  /** The client, or a promise of it while the topology is being detected. */
  get(): AnyClient | Promise<AnyClient> {
    if (this.client) return this.client;
    if (this.closed) return Promise.reject(closedError());
    if (!this.pending) {
      this.pending = this.detect(this.plan!);
      this.pending.catch(() => {});
    }
    return this.pending;
  }

  isReady(): boolean {
    return this.client?.status === "ready";
  }

  /**
   * Reconnect at most 250 ms apart. ioredis' own backoff grew so long here
   * that a command issued while Redis was down failed only after ~73 s (its
   * 20 retries per request), and during a 2-3 s Sentinel failover the first
   * write on the new master came ~1.5 s late. With 250 ms steps a command
   * waits about max(2 x disconnectGraceMs, 5 s) before failing: long enough
   * for a failover, short enough that a request in flight when Redis died
   * gets its error instead of hanging.
   */
  private redisBase(): RedisOptions {
    const budgetMs = Math.max(2 * this.graceMs, 5000);
    return {
      // Off: the store corks each turn's writes (topology/cork.ts); faster at 1 caller and at 100.
      enableAutoPipelining: false,
      retryStrategy: (times: number) => Math.min(times * 50, 250),
      maxRetriesPerRequest: Math.ceil(budgetMs / 250) + 1,
    };
  }

  private buildStandalone(node: RedisOptions): Redis {
    return new Redis({ ...this.redisBase(), ...node, ...this.opts.redisOptions });
  }

  private buildSentinel(
    sentinels: HostPort[],
    name: string,
    node: RedisOptions,
    sentinel: RedisOptions,
  ): Redis {
    const options: RedisOptions = {
      ...this.redisBase(),
      ...node,
      sentinels,
      name,
      failoverDetector: true,
      reconnectOnError: reconnectOnReadonly,
    };
    if (sentinel.username !== undefined) options.sentinelUsername = sentinel.username;
    if (sentinel.password !== undefined) options.sentinelPassword = sentinel.password;
    if (node.tls !== undefined || sentinel.tls !== undefined) {
      options.enableTLSForSentinelMode = node.tls !== undefined;
      if (sentinel.tls !== undefined) options.sentinelTLS = sentinel.tls;
    }
    return new Redis({ ...options, ...this.opts.redisOptions });
  }

  private buildCluster(nodes: HostPort[], node: RedisOptions): Cluster {
    const options: ClusterOptions = {
      // Off: the store corks each turn's writes (topology/cork.ts); faster at 1 caller and at 100.
      enableAutoPipelining: false,
      // Sized so a command outlasts a ~2-3 s failover instead of failing mid-way.
      retryDelayOnFailover: 200,
      retryDelayOnClusterDown: 200,
      retryDelayOnTryAgain: 100,
      retryDelayOnMoved: 0,
      maxRedirections: 64,
      ...this.opts.clusterOptions,
      redisOptions: {
        ...node,
        ...this.opts.redisOptions,
        ...this.opts.clusterOptions?.redisOptions,
      },
    };
    return new Cluster(nodes, options);
  }

  private build(plan: Exclude<ConnectionPlan, { kind: "detect" }>): AnyClient {
    switch (plan.kind) {
      case "standalone":
        return this.buildStandalone(plan.node);
      case "cluster":
        return this.buildCluster(plan.nodes, plan.node);
      case "sentinel":
        if (!plan.name) {
          throw new ConfigurationError(
            "A sentinel master group name is required: set `sentinel.name`, or the #name of the URL",
          );
        }
        return this.buildSentinel(plan.sentinels, plan.name, plan.node, plan.sentinel);
      default:
        throw new ConfigurationError("Unknown connection plan");
    }
  }

  /** Asks the one node we were given what it is, then builds the matching client. */
  private async detect(plan: ConnectionPlan): Promise<AnyClient> {
    if (plan.kind !== "detect") {
      const client = this.build(plan);
      this.adopt(client);
      return client;
    }
    const probe = this.buildStandalone(plan.node);
    const off = this.wire(probe);
    let client: AnyClient;
    try {
      client = await this.fromProbe(plan, probe);
    } catch (err) {
      // Whatever failed (INFO, SENTINEL MASTERS, a sentinel with several
      // masters and no name), the probe is nobody's client: close() would
      // never see it and its socket would keep the process alive.
      off();
      probe.disconnect();
      this.pending = undefined;
      throw toStoreError(err, "detecting the Redis topology (INFO server)");
    }
    off();
    if (client === probe) {
      this.adopt(probe);
      return probe;
    }
    await probe.quit().catch(() => probe.disconnect());
    if (this.closed) {
      client.disconnect();
      throw closedError();
    }
    this.adopt(client);
    return client;
  }

  /** The client a probed node calls for: the probe itself for a standalone node, else a new one. */
  private async fromProbe(
    plan: { node: RedisOptions; masterName?: string },
    probe: Redis,
  ): Promise<AnyClient> {
    const info = String(await probe.info("server"));
    const mode = /redis_mode:(\w+)/.exec(info)?.[1] ?? "standalone";
    const host = { host: plan.node.host ?? "127.0.0.1", port: plan.node.port ?? 6379 };
    if (mode === "cluster") {
      const { db: _db, host: _h, port: _p, ...node } = plan.node;
      return this.buildCluster([host], node);
    }
    if (mode === "sentinel") {
      const name = plan.masterName ?? (await singleMaster(probe, host));
      const { host: _h, port: _p, db, ...rest } = plan.node;
      const node: RedisOptions = { ...rest };
      if (db !== undefined) node.db = db;
      // The credentials given for the address are the sentinel's; the data nodes get the same.
      return this.buildSentinel([host], name, node, {
        username: rest.username,
        password: rest.password,
        // The TLS settings the probe reached this sentinel with (redisOptions' included).
        tls: probe.options.tls,
      } as RedisOptions);
    }
    return probe;
  }

  private adopt(client: AnyClient): void {
    this.client = client;
    this.pending = undefined;
    this.topology = clientTopology(client);
    this.wire(client);
    this.events.topology(this.topology, client);
    if (client.status === "ready") this.onReady();
  }

  /** Subscribes to a client's events; returns a function that unsubscribes. */
  private wire(client: AnyClient): () => void {
    const setup: SetupState = { everReady: client.status === "ready", drops: 0 };
    const onReady = () => {
      setup.everReady = true;
      setup.drops = 0;
      this.onReady();
    };
    const onDown = () => this.armGrace();
    const onEnd = () => {
      this.armGrace();
      this.revive(client);
    };
    const onError = (err: Error) => {
      this.onClientError(err);
      // Only on clients the store built: an adopted client's queue holds its owner's commands too.
      if (this.opts.client === undefined) failWaiting(client, setupFailure(err, client, setup));
    };
    client.on("ready", onReady);
    client.on("close", onDown);
    client.on("end", onEnd);
    client.on("reconnecting", onDown);
    client.on("error", onError);
    const off = () => {
      client.off("ready", onReady);
      client.off("close", onDown);
      client.off("end", onEnd);
      client.off("reconnecting", onDown);
      client.off("error", onError);
    };
    this.detach.push(off);
    return off;
  }

  /**
   * Reconnects a client of ours that gave up. ioredis 6 ends a Sentinel
   * client for good when its failover detector (still subscribed from the
   * previous connection) sees +switch-master while a reconnect attempt is
   * resolving the master: connect() then throws "Connection is closed" and
   * the client goes to "end". Seen in 1 of 3 master kills here; the store
   * stayed disconnected until restarted. A client the user passed in, or
   * one whose retry strategy the user chose, is theirs to manage.
   */
  private revive(client: AnyClient): void {
    if (this.closed || this.opts.client !== undefined || client !== this.client) return;
    // A retry strategy of the user's that returned null meant "stop": respect it.
    const given = this.opts.redisOptions ?? {};
    if (given.retryStrategy !== undefined || given.sentinelRetryStrategy !== undefined) return;
    const timer = setTimeout(() => {
      if (!this.closed && client === this.client && client.status === "end") {
        client.connect().catch(() => {
          // A failed attempt ends in "end" again, which schedules the next one.
        });
      }
    }, 100);
    timer.unref();
  }

  private onReady(): void {
    // A detection probe becoming ready is not the store being ready.
    if (this.client?.status !== "ready") return;
    if (this.graceTimer) {
      clearTimeout(this.graceTimer);
      this.graceTimer = undefined;
    }
    if (this.state !== "up" && !this.closed) {
      this.state = "up";
      this.events.connect();
    }
  }

  private armGrace(): void {
    if (this.graceTimer || this.closed) return;
    this.graceTimer = setTimeout(() => {
      this.graceTimer = undefined;
      if (this.closed || this.isReady()) return;
      if (this.state !== "down") {
        this.state = "down";
        this.events.disconnect();
      }
      // Keep watching: a later recovery emits "connect" via onReady.
    }, this.graceMs);
    this.graceTimer.unref();
  }

  private onClientError(err: Error): void {
    if (this.closed) return;
    const wrapped = isAuthError(err)
      ? toStoreError(err, "connecting")
      : toStoreError(err, "the Redis connection");
    this.events.error(wrapped);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.graceTimer) clearTimeout(this.graceTimer);
    this.graceTimer = undefined;
    if (this.pending) await this.pending.catch(() => {});
    const client = this.client;
    if (client && this.owned) {
      try {
        // QUIT waits in the offline queue like any command: on a client that
        // never connected (refused credentials, Redis down) it would wait forever.
        if (client.status === "ready") await client.quit();
      } catch {
        // The connection may already be gone; disconnect below releases the rest.
      }
      // quit() can leave a sentinel-backed client's sentinel sockets (failover
      // detector subscriptions) open; disconnect() releases every socket.
      // Only a client with a socket open or opening reports "end" after
      // disconnect(); one between reconnect attempts has nothing left to close.
      const open = ["connecting", "connect", "ready", "disconnecting"].includes(client.status);
      const ended = !open
        ? Promise.resolve()
        : new Promise<void>((resolve) => {
            client.once("end", () => resolve());
            // Bounded: a client that never reports "end" must not hang close().
            setTimeout(resolve, 2000).unref();
          });
      client.disconnect();
      await ended;
    }
    for (const off of this.detach.splice(0)) off();
  }
}

/** The only master a sentinel monitors, or an error asking for the name. */
async function singleMaster(probe: Redis, at: HostPort): Promise<string> {
  const reply = (await probe.call("SENTINEL", "MASTERS")) as unknown[];
  const names: string[] = [];
  for (const entry of reply ?? []) {
    if (Array.isArray(entry)) {
      const i = entry.indexOf("name");
      if (i >= 0) names.push(String(entry[i + 1]));
    } else if (entry && typeof entry === "object" && "name" in entry) {
      names.push(String((entry as { name: unknown }).name));
    }
  }
  if (names.length === 1) return names[0]!;
  throw new TopologyError(
    `${at.host}:${at.port} is a sentinel monitoring ${names.length === 0 ? "no masters" : `${names.length} masters (${names.join(", ")})`}; ` +
      "name the one to use: redis-sentinel://host:port#<name>, or `sentinel: { sentinels, name }`",
  );
}

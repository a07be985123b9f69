import type { Cluster, ClusterOptions, Redis, RedisOptions } from "ioredis";
import {
  type Codec,
  codecFor,
  jsonSerializer,
  msgpackSerializer,
  type Serializer,
} from "./serializer.js";
import type { TtlOption } from "./ttl.js";
import { validateOptions } from "./validate.js";

/**
 * A client of an ioredis-compatible library such as iovalkey, used through
 * the ioredis API. Typed by shape so the public types do not depend on it.
 */
export interface CompatibleClient {
  readonly status: string;
  readonly options: object;
  pipeline(...args: any[]): unknown;
  getBuffer(...args: any[]): Promise<unknown>;
  on(event: string | symbol, listener: (...args: any[]) => void): unknown;
}

/** A `host:port` string or an address object. */
export type NodeAddress = string | { host: string; port?: number };

export type TopologyName = "standalone" | "sentinel" | "cluster";

/** Connect to one Redis node. */
export interface StandaloneOptions {
  /** @default "127.0.0.1" */
  host?: string;
  /** @default 6379 */
  port?: number;
  /** Unix socket path; replaces host and port. */
  socket?: string;
  /** @default 0 */
  db?: number;
  username?: string;
  password?: string;
  /** TLS options for `tls.connect`, or `true` for defaults. */
  tls?: RedisOptions["tls"] | true;
}

/** Connect through Redis Sentinel. */
export interface SentinelOptions {
  /** Sentinel addresses; at least one. */
  sentinels: NodeAddress[];
  /** Master group name as configured in the sentinels (`sentinel monitor <name> ...`). */
  name: string;
  /** @default 0 */
  db?: number;
  /** Credentials for the data nodes. */
  username?: string;
  password?: string;
  /** Credentials for the sentinels themselves, when they differ. */
  sentinelUsername?: string;
  sentinelPassword?: string;
  /** TLS for the data nodes (and the sentinels, see `sentinelTLS`). */
  tls?: RedisOptions["tls"] | true;
  /** TLS for the sentinels. @default same as `tls` */
  sentinelTLS?: RedisOptions["tls"] | true;
}

/** Connect to a Redis Cluster. */
export interface ClusterGroupOptions {
  /** Seed nodes; any reachable node is enough, more make startup survive a dead seed. */
  nodes: NodeAddress[];
  username?: string;
  password?: string;
  tls?: RedisOptions["tls"] | true;
}

/** `WAIT` after every write; see the README's "Durability" section. */
export interface DurabilityOptions {
  /** Replicas that must confirm each write. */
  replicas: number;
  /** How long to wait for them, in milliseconds. @default 1000 */
  timeoutMs?: number;
  /**
   * What a shortfall does: `"error"` fails the write with a
   * ReplicationShortfallError (acknowledged means replicated); `"warn"`
   * succeeds and emits `"warning"`.
   * @default "error"
   */
  onShortfall?: "error" | "warn";
}

/** Touch coalescing window. */
export interface BatchOptions {
  /** Longest a touch waits for company, in ms. `0` flushes on the next turn of the event loop. @default 0 */
  maxDelayMs?: number;
  /** Most touches in one flush (one socket write per node). @default 512 */
  maxSize?: number;
}

export interface RedisStoreOptions {
  // ---- where to connect (exactly one source) ----
  /** An existing ioredis (or iovalkey) `Redis` or `Cluster`. Not closed by the store unless `closeClient`. */
  client?: Redis | Cluster | CompatibleClient;
  /** Quit `client` on `close()`. Clients the store builds are always quit. @default false */
  closeClient?: boolean;
  /**
   * `redis://`, `rediss://`, `redis-sentinel://h1:p1,h2:p2/db#master`,
   * `rediss-sentinel://...`, `redis-cluster://h1:p1,h2:p2`, `rediss-cluster://...`.
   */
  url?: string;
  /** Connect to one node. */
  standalone?: StandaloneOptions;
  /** Connect through Sentinel. */
  sentinel?: SentinelOptions;
  /** Connect to a Cluster. */
  cluster?: ClusterGroupOptions;
  /** Shorthand for `standalone.host`. */
  host?: string;
  /** Shorthand for `standalone.port`. */
  port?: number;
  /** Shorthand for `standalone.socket`. */
  socket?: string;
  /** Shorthand for `standalone.db`. */
  db?: number;
  /** Alias of `password` (connect-redis' name). */
  pass?: string;
  password?: string;
  username?: string;
  tls?: RedisOptions["tls"] | true;
  /**
   * What kind of deployment the address points at. `"auto"` asks the node
   * (`INFO server`) and builds a Cluster or Sentinel client when it is one.
   * @default "auto"
   */
  topology?: "auto" | TopologyName;
  /** Passed to every ioredis `Redis` the store builds, untouched. */
  redisOptions?: RedisOptions;
  /** Passed to the ioredis `Cluster` the store builds, untouched. */
  clusterOptions?: ClusterOptions;

  // ---- keys ----
  /** Key prefix. @default "sess:" */
  prefix?: string;
  /** Wrap the sid in `{}` so each session owns one slot. @default true on a cluster, false elsewhere */
  hashTag?: boolean;
  /** Keys asked for per SCAN call and per bulk command in `length/ids/all/clear`. @default 1000 */
  scanCount?: number;

  // ---- TTL ----
  /**
   * Seconds, or a function of the session. Without a function, the cookie's
   * remaining lifetime wins when `cookie.expires` is set.
   * @default 86400
   */
  ttl?: TtlOption;
  /** Keys never expire; `touch` does nothing. @default false */
  disableTTL?: boolean;
  /** `touch` does nothing. @default false */
  disableTouch?: boolean;
  /** Skip a touch within this many seconds of the session's last TTL refresh. @default 0 */
  touchAfter?: number;
  /** Touch coalescing; `false` sends each touch on its own. @default { maxDelayMs: 0, maxSize: 512 } */
  batch?: BatchOptions | false;

  // ---- values ----
  /** `"msgpack"`, `"json"` or `{ stringify, parse }`. @default "msgpack" */
  serializer?: "msgpack" | "json" | Serializer;

  // ---- availability ----
  /** Emit `"disconnect"` after Redis has been unreachable this long, in ms. @default 2000 */
  disconnectGraceMs?: number;
  /** Wait for replicas after each write. @default undefined (no WAIT) */
  durability?: DurabilityOptions;

  // ---- per-user index ----
  /**
   * Returns the user a session belongs to, to keep a per-user index for
   * `idsFor` and `destroyFor` ("log out everywhere"). Sets of a session
   * already indexed stay one command; the first set of a sid adds it to the
   * index in one batched script call per node per turn. Needs Redis >= 7.0.
   * @default undefined (no index)
   */
  indexBy?: (session: any) => string | undefined;
  /** Prefix of index keys; must not start with `prefix` or contain braces, and needs `indexBy`. @default "idx:" + prefix */
  indexPrefix?: string;
}

export const defaults = {
  closeClient: false,
  topology: "auto",
  prefix: "sess:",
  scanCount: 1000,
  ttl: 86_400,
  disableTTL: false,
  disableTouch: false,
  touchAfter: 0,
  batch: { maxDelayMs: 0, maxSize: 512 },
  serializer: "msgpack",
  disconnectGraceMs: 2000,
  durabilityTimeoutMs: 1000,
  durabilityOnShortfall: "error",
  defaultUrl: "redis://127.0.0.1:6379",
} as const;

/** The options as the store runs with them: validated once, defaults applied, frozen. */
export interface ResolvedOptions {
  /** What the caller passed, for the connection settings the topology manager reads. */
  readonly input: Readonly<RedisStoreOptions>;
  readonly prefix: string;
  /** Undefined: decided by the topology (on for a cluster). */
  readonly hashTag: boolean | undefined;
  readonly scanCount: number;
  readonly ttl: TtlOption;
  readonly disableTTL: boolean;
  readonly disableTouch: boolean;
  readonly touchAfterMs: number;
  readonly batch: Readonly<Required<BatchOptions>> | undefined;
  readonly codec: Codec;
  readonly disconnectGraceMs: number;
  /**
   * How long a write is resent through a failover: long enough to outlast one
   * (1-3 s with the store's client settings), bounded so a dead Redis still
   * fails its callers.
   */
  readonly retryWindowMs: number;
  readonly durability: Readonly<Required<DurabilityOptions>> | undefined;
  readonly indexBy: ((session: any) => string | undefined) | undefined;
  readonly indexPrefix: string;
}

/** Validates (throwing a TypeError that names the option) and resolves every option once. */
export function resolveOptions(input: RedisStoreOptions = {}): ResolvedOptions {
  validateOptions(input);
  const prefix = input.prefix ?? defaults.prefix;
  const grace = input.disconnectGraceMs ?? defaults.disconnectGraceMs;
  const s = input.serializer ?? defaults.serializer;
  const serializer = s === "msgpack" ? msgpackSerializer : s === "json" ? jsonSerializer : s;
  const d = input.durability;
  return Object.freeze({
    input: Object.freeze({ ...input }),
    prefix,
    hashTag: input.hashTag,
    scanCount: input.scanCount ?? defaults.scanCount,
    ttl: input.ttl ?? defaults.ttl,
    disableTTL: input.disableTTL ?? defaults.disableTTL,
    disableTouch: input.disableTouch ?? defaults.disableTouch,
    touchAfterMs: (input.touchAfter ?? defaults.touchAfter) * 1000,
    batch:
      input.batch === false
        ? undefined
        : Object.freeze({
            maxDelayMs: input.batch?.maxDelayMs ?? defaults.batch.maxDelayMs,
            maxSize: input.batch?.maxSize ?? defaults.batch.maxSize,
          }),
    codec: codecFor(serializer),
    disconnectGraceMs: grace,
    retryWindowMs: Math.max(2 * grace, 10_000),
    durability:
      d === undefined
        ? undefined
        : Object.freeze({
            replicas: d.replicas,
            timeoutMs: d.timeoutMs ?? defaults.durabilityTimeoutMs,
            onShortfall: d.onShortfall ?? defaults.durabilityOnShortfall,
          }),
    indexBy: input.indexBy,
    indexPrefix: input.indexPrefix ?? `idx:${prefix}`,
  });
}

import type { Cluster, ClusterOptions, Redis, RedisOptions } from "ioredis";
import {
  type Codec,
  codecFor,
  jsonSerializer,
  msgpackSerializer,
  type Serializer,
} from "./serializer.js";
import { redact } from "./topology/url.js";
import type { TtlOption } from "./ttl.js";

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

/**
 * Every option name, typed against RedisStoreOptions: adding an option to the
 * interface without listing it here (or listing one that does not exist) is a
 * compile error, so the unknown-option check cannot drift from the type.
 */
const OPTION_NAMES = {
  client: true,
  closeClient: true,
  url: true,
  standalone: true,
  sentinel: true,
  cluster: true,
  host: true,
  port: true,
  socket: true,
  db: true,
  pass: true,
  password: true,
  username: true,
  tls: true,
  topology: true,
  redisOptions: true,
  clusterOptions: true,
  prefix: true,
  hashTag: true,
  scanCount: true,
  ttl: true,
  disableTTL: true,
  disableTouch: true,
  touchAfter: true,
  batch: true,
  serializer: true,
  disconnectGraceMs: true,
  durability: true,
  indexBy: true,
  indexPrefix: true,
} as const satisfies Record<keyof RedisStoreOptions, true>;

const KNOWN = new Set<string>(Object.keys(OPTION_NAMES));

function describe(value: unknown): string {
  // A string may be a URL with a password in it (say, passed as `client`): shown redacted.
  if (typeof value === "string") return `"${redact(value)}"`;
  if (typeof value === "function") return "a function";
  if (Array.isArray(value)) return "an array";
  if (value === null) return "null";
  if (typeof value === "object") return "an object";
  return String(value);
}

/**
 * Constructor misuse is a TypeError (the spec's rule), carrying the same
 * stable code as a ConfigurationError so callers can branch on `code`.
 */
export function configTypeError(
  message: string,
  cause?: unknown,
): TypeError & { code: "ERR_CONFIG" } {
  const err = new TypeError(message, cause === undefined ? undefined : { cause }) as TypeError & {
    code: "ERR_CONFIG";
  };
  err.code = "ERR_CONFIG";
  return err;
}

function fail(message: string): never {
  throw configTypeError(message);
}

function expectNumber(name: string, value: unknown, min: number, integer = false): void {
  if (value === undefined) return;
  if (
    typeof value !== "number" ||
    Number.isNaN(value) ||
    value < min ||
    (integer && !Number.isInteger(value))
  ) {
    fail(
      `Expected \`${name}\` to be ${integer ? "an integer" : "a number"} from ${min} and up, got \`${describe(value)}\``,
    );
  }
}

function expectType(name: string, value: unknown, type: string): void {
  if (value !== undefined && typeof value !== type) {
    // A password of the wrong type is still a password: name its type, never its value.
    const got = /pass/i.test(name)
      ? `a ${value === null ? "null" : typeof value}`
      : describe(value);
    fail(`Expected \`${name}\` to be a ${type}, got \`${got}\``);
  }
}

function expectObject(name: string, value: unknown): void {
  if (
    value !== undefined &&
    (value === null || typeof value !== "object" || Array.isArray(value))
  ) {
    fail(`Expected \`${name}\` to be an object, got \`${describe(value)}\``);
  }
}

/** The connection sources a user can name; giving more than one is a mistake. */
export function explicitSources(opts: RedisStoreOptions): string[] {
  const found: string[] = [];
  if (opts.client !== undefined) found.push("client");
  if (opts.url !== undefined) found.push("url");
  if (opts.cluster !== undefined) found.push("cluster");
  if (opts.sentinel !== undefined) found.push("sentinel");
  if (opts.standalone !== undefined) found.push("standalone");
  const shorthand = (["host", "port", "socket"] as const).filter((k) => opts[k] !== undefined);
  if (shorthand.length > 0) found.push(shorthand.join("/"));
  return found;
}

/** Throws a TypeError naming the first option that is unknown or has the wrong shape. */
export function validateOptions(input: unknown): asserts input is RedisStoreOptions {
  if (input === undefined) return;
  if (input === null || typeof input !== "object" || Array.isArray(input)) {
    fail(`Expected the RedisStore options to be an object, got \`${describe(input)}\``);
  }
  const opts = input as Record<string, unknown>;
  for (const name of Object.keys(opts)) {
    if (!KNOWN.has(name)) {
      fail(
        `Unknown RedisStore option \`${name}\`. Client settings such as \`${name}\` go in ` +
          "`redisOptions` (or `clusterOptions` for a cluster), which are passed to ioredis untouched.",
      );
    }
  }
  const o = opts as RedisStoreOptions;
  if (o.client !== undefined && (o.client === null || typeof o.client !== "object")) {
    fail(`Expected \`client\` to be an ioredis Redis or Cluster, got \`${describe(o.client)}\``);
  }
  expectType("url", o.url, "string");
  expectType("closeClient", o.closeClient, "boolean");
  expectObject("standalone", o.standalone);
  expectObject("sentinel", o.sentinel);
  expectObject("cluster", o.cluster);
  expectObject("redisOptions", o.redisOptions);
  expectObject("clusterOptions", o.clusterOptions);
  expectType("host", o.host, "string");
  expectNumber("port", o.port, 1, true);
  expectType("socket", o.socket, "string");
  expectNumber("db", o.db, 0, true);
  expectType("pass", o.pass, "string");
  expectType("password", o.password, "string");
  expectType("username", o.username, "string");
  if (
    o.topology !== undefined &&
    !["auto", "standalone", "sentinel", "cluster"].includes(o.topology)
  ) {
    fail(
      `Expected \`topology\` to be "auto", "standalone", "sentinel" or "cluster", got \`${describe(o.topology)}\``,
    );
  }
  expectType("prefix", o.prefix, "string");
  expectType("hashTag", o.hashTag, "boolean");
  expectNumber("scanCount", o.scanCount, 1, true);
  if (o.ttl !== undefined && typeof o.ttl !== "function") {
    if (typeof o.ttl !== "number" || !Number.isFinite(o.ttl)) {
      fail(`Expected \`ttl\` to be a number of seconds or a function, got \`${describe(o.ttl)}\``);
    }
  }
  expectType("disableTTL", o.disableTTL, "boolean");
  expectType("disableTouch", o.disableTouch, "boolean");
  expectNumber("touchAfter", o.touchAfter, 0);
  if (o.batch !== undefined && o.batch !== false) {
    expectObject("batch", o.batch);
    expectNumber("batch.maxDelayMs", o.batch.maxDelayMs, 0);
    expectNumber("batch.maxSize", o.batch.maxSize, 1, true);
  }
  const s = o.serializer;
  if (s !== undefined && s !== "msgpack" && s !== "json") {
    if (
      s === null ||
      typeof s !== "object" ||
      typeof s.stringify !== "function" ||
      typeof s.parse !== "function"
    ) {
      fail(
        `Expected \`serializer\` to be "msgpack", "json" or an object with stringify() and parse(), got \`${describe(s)}\``,
      );
    }
  }
  expectNumber("disconnectGraceMs", o.disconnectGraceMs, 0);
  if (o.durability !== undefined) {
    expectObject("durability", o.durability);
    expectNumber("durability.replicas", o.durability.replicas, 0, true);
    if (o.durability.replicas === undefined) fail("Expected `durability.replicas` to be set");
    // WAIT with a timeout of 0 blocks its connection until the replicas answer: forever, when one is gone.
    expectNumber("durability.timeoutMs", o.durability.timeoutMs, 1, true);
    const on = o.durability.onShortfall;
    if (on !== undefined && on !== "error" && on !== "warn") {
      fail(`Expected \`durability.onShortfall\` to be "error" or "warn", got \`${describe(on)}\``);
    }
  }
  expectType("indexBy", o.indexBy, "function");
  expectType("indexPrefix", o.indexPrefix, "string");
  const prefix = o.prefix ?? defaults.prefix;
  if (o.indexBy !== undefined && prefix === "") {
    fail(
      'Expected a non-empty `prefix` with `indexBy`, got `""`: every key, the index keys ' +
        "(`indexPrefix`) included, would be a session to length(), ids() and clear()",
    );
  }
  if (o.indexPrefix?.startsWith(prefix)) {
    fail(
      `Expected \`indexPrefix\` not to start with the session \`prefix\` "${prefix}", got \`${describe(o.indexPrefix)}\`: index keys would be counted as sessions`,
    );
  }
  if (o.indexPrefix !== undefined && /[{}]/.test(o.indexPrefix)) {
    fail(
      `Expected \`indexPrefix\` without "{" or "}", got \`${describe(o.indexPrefix)}\`: the user id is the index key's hash tag`,
    );
  }
  if (o.indexPrefix !== undefined && o.indexBy === undefined) {
    fail("`indexPrefix` was set without `indexBy`; set `indexBy` to turn the per-user index on");
  }
  const sources = explicitSources(o);
  if (sources.length > 1) {
    fail(
      `RedisStore got ${sources.map((s) => `\`${s}\``).join(" and ")}; give exactly one place to connect to`,
    );
  }
  if (o.sentinel !== undefined) {
    if (!Array.isArray(o.sentinel.sentinels) || o.sentinel.sentinels.length === 0) {
      fail("Expected `sentinel.sentinels` to be a non-empty array of sentinel addresses");
    }
    if (typeof o.sentinel.name !== "string" || o.sentinel.name === "") {
      fail(
        'Expected `sentinel.name` to be the master group name the sentinels monitor (e.g. "mymaster")',
      );
    }
  }
  if (o.cluster !== undefined) {
    if (!Array.isArray(o.cluster.nodes) || o.cluster.nodes.length === 0) {
      fail("Expected `cluster.nodes` to be a non-empty array of cluster node addresses");
    }
  }
}

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

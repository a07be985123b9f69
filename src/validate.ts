/**
 * Option validation: every option checked once, in the constructor, with an
 * error that names it (a TypeError with `code: "ERR_CONFIG"`, see
 * configTypeError), and never quotes a password.
 */
import { configTypeError } from "./errors.js";
import { defaults, type RedisStoreOptions } from "./options.js";
import { redact } from "./topology/url.js";

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
function explicitSources(opts: RedisStoreOptions): string[] {
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

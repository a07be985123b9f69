import { Cluster, Redis } from "ioredis";
import { configTypeError } from "../errors.js";
import type { AnyClient } from "./manager.js";

/**
 * What the store calls on a client, beyond EventEmitter. ioredis and iovalkey
 * both have all of these; node-redis has none but `sendCommand`. Checked by
 * shape because a second copy of ioredis (or iovalkey) fails `instanceof`.
 */
const METHODS = ["call", "pipeline", "multi", "getBuffer", "defineCommand", "quit", "on", "off"];

function looksLikeIoredis(value: object): boolean {
  const c = value as Record<string, unknown>;
  return (
    typeof c.isCluster === "boolean" &&
    typeof c.status === "string" &&
    typeof c.options === "object" &&
    c.options !== null &&
    METHODS.every((m) => typeof c[m] === "function")
  );
}

/** Names what was passed without printing it: a string could be a URL with its password. */
function describeClient(value: unknown): string {
  if (value === null) return "null";
  if (typeof value === "string") return "a string (a connection URL goes in `url`)";
  if (typeof value !== "object") return `a ${typeof value}`;
  if (Array.isArray(value)) return "an array";
  const c = value as Record<string, unknown>;
  // node-redis clients (v4, v5) have `isOpen`; its cluster client keeps `masters`.
  if (typeof c.sendCommand === "function" && "isOpen" in c) {
    return "masters" in c ? "a node-redis cluster client" : "a node-redis client";
  }
  const proto = Object.getPrototypeOf(value);
  if (proto === null || proto === Object.prototype) return "a plain object";
  const name = (proto as { constructor?: { name?: unknown } }).constructor?.name;
  return typeof name === "string" && name !== "" && name !== "Object"
    ? `an instance of ${name}`
    : "an object that is not an ioredis client";
}

/**
 * Refuses a `client` the store cannot drive. Anything else half-works: a
 * node-redis client ignores ioredis' positional `"PX", ms` (sessions written
 * without a TTL), has no `getBuffer`, and fails touches inside a pipeline.
 */
export function assertCompatibleClient(value: unknown): asserts value is AnyClient {
  if (value instanceof Redis || value instanceof Cluster) return;
  if (value !== null && typeof value === "object" && looksLikeIoredis(value)) return;
  throw configTypeError(
    `Expected \`client\` to be an ioredis (or iovalkey) Redis or Cluster, got ${describeClient(value)}. ` +
      "Pass `new Redis(...)` or `new Cluster(...)` from ioredis, or leave `client` out and give " +
      "`url` (or `sentinel`/`cluster`) so the store builds its own.",
  );
}

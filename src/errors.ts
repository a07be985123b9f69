/**
 * Every error a store method hands to its caller is a {@link RedisStoreError}
 * with a stable `code`, so callers can branch on `err.code` instead of parsing
 * messages. The Redis or client error that caused it is kept as `cause`.
 */

/** Stable error codes. Values never change between releases. */
export const ErrorCodes = {
  /** A store option is set to something the store cannot work with. */
  CONFIG: "ERR_CONFIG",
  /** The Redis deployment is not what the options say, or cannot be reached. */
  TOPOLOGY: "ERR_TOPOLOGY",
  /** Redis rejected the credentials (WRONGPASS, NOAUTH, NOPERM on AUTH/HELLO). */
  AUTH: "ERR_AUTH",
  /** A stored value could not be turned back into a session. */
  DECODE: "ERR_DECODE",
  /** A session could not be serialized (a cycle, a BigInt, a throwing toJSON). */
  ENCODE: "ERR_ENCODE",
  /** Fewer replicas than `durability.replicas` acknowledged a write in time. */
  REPLICATION_SHORTFALL: "ERR_REPLICATION_SHORTFALL",
  /** Redis answered a command with an error reply (WRONGTYPE, OOM, ...). */
  REDIS: "ERR_REDIS",
  /** The connection failed or closed before the command completed. */
  CONNECTION: "ERR_CONNECTION",
  /** The store was closed; no more commands are accepted. */
  CLOSED: "ERR_CLOSED",
} as const;

export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

export interface RedisStoreErrorDetails {
  cause?: unknown;
  /** The session id the failing operation was about, when there is one. */
  sid?: string;
  /** The Redis key involved, when there is one. */
  key?: string;
}

/** Base class of every error the store reports. */
export class RedisStoreError extends Error {
  readonly code: string;
  readonly sid: string | undefined;
  readonly key: string | undefined;

  constructor(code: string, message: string, details: RedisStoreErrorDetails = {}) {
    super(
      message,
      details.cause === undefined ? undefined : { cause: scrubSecrets(details.cause) },
    );
    this.name = new.target.name;
    this.code = code;
    this.sid = details.sid;
    this.key = details.key;
  }
}

/** An option value the store cannot use (found after construction, e.g. once the topology is known). */
export class ConfigurationError extends RedisStoreError {
  constructor(message: string, details?: RedisStoreErrorDetails) {
    super(ErrorCodes.CONFIG, message, details);
  }
}

/** The deployment does not match the options, or topology detection failed. */
export class TopologyError extends RedisStoreError {
  constructor(message: string, details?: RedisStoreErrorDetails) {
    super(ErrorCodes.TOPOLOGY, message, details);
  }
}

/** Redis refused the credentials the store connected with. */
export class AuthenticationError extends RedisStoreError {
  constructor(message: string, details?: RedisStoreErrorDetails) {
    super(ErrorCodes.AUTH, message, details);
  }
}

/** A stored value could not be decoded; the session id is in `sid`. */
export class SessionDecodeError extends RedisStoreError {
  constructor(message: string, details?: RedisStoreErrorDetails) {
    super(ErrorCodes.DECODE, message, details);
  }
}

/** A session could not be encoded; nothing was written. The session id is in `sid`. */
export class SessionEncodeError extends RedisStoreError {
  constructor(message: string, details?: RedisStoreErrorDetails) {
    super(ErrorCodes.ENCODE, message, details);
  }
}

/** A write was applied but fewer replicas than required confirmed it in time. */
export class ReplicationShortfallError extends RedisStoreError {
  /** Replicas that confirmed the write. */
  readonly acknowledged: number;
  /** Replicas that were required. */
  readonly required: number;

  constructor(
    message: string,
    acknowledged: number,
    required: number,
    details?: RedisStoreErrorDetails,
  ) {
    super(ErrorCodes.REPLICATION_SHORTFALL, message, details);
    this.acknowledged = acknowledged;
    this.required = required;
  }
}

/** What stands in for a command argument in any error the store hands out. */
export const REDACTED = "***";

/**
 * The error as it may leave the store: ioredis attaches the failed command to
 * its errors (\`err.command.args\`), and for AUTH or HELLO those arguments are
 * the username and password. Session keys and values are no better to leak.
 * Returns a copy with every command's arguments replaced by "***", through the
 * whole chain (\`cause\`, a cluster's \`lastNodeError\`, an AggregateError's
 * \`errors\`); the prototype, message, stack and code are kept, so
 * \`instanceof\` and \`err.code\` still work. Returns the value itself when it
 * holds no command.
 */
export function scrubSecrets<T>(value: T): T {
  return scrub(value, new Map()) as T;
}

/** Errors and arrays are followed; anything else is left as it is. */
function children(value: object): unknown[] {
  if (Array.isArray(value)) return value;
  if (!(value instanceof Error)) return [];
  const out: unknown[] = [];
  for (const key of Reflect.ownKeys(value)) {
    const desc = Object.getOwnPropertyDescriptor(value, key);
    if (desc && "value" in desc && key !== "command") out.push(desc.value);
  }
  return out;
}

function carriesArgs(value: object): boolean {
  if (!(value instanceof Error)) return false;
  const command = (value as { command?: unknown }).command;
  const args = (command as { args?: unknown } | null | undefined)?.args;
  return Array.isArray(args) && args.some((a) => a !== REDACTED);
}

/** True when a command with arguments can be reached from `value`. */
function needsScrub(value: unknown, visited: Set<object>): boolean {
  if (value === null || typeof value !== "object" || visited.has(value)) return false;
  visited.add(value);
  return carriesArgs(value) || children(value).some((child) => needsScrub(child, visited));
}

function scrub(value: unknown, copies: Map<object, unknown>): unknown {
  if (value === null || typeof value !== "object") return value;
  const known = copies.get(value);
  if (known !== undefined) return known;
  if (!needsScrub(value, new Set())) return value;
  if (Array.isArray(value)) {
    const out: unknown[] = [];
    copies.set(value, out);
    for (const item of value) out.push(scrub(item, copies));
    return out;
  }
  // Registered before its properties are copied, so a cycle (an error that is
  // its own cause) points at the copy, never back at the original.
  const copy = Object.create(Object.getPrototypeOf(value)) as Error;
  copies.set(value, copy);
  for (const key of Reflect.ownKeys(value)) {
    const desc = Object.getOwnPropertyDescriptor(value, key)!;
    if ("value" in desc) {
      desc.value = key === "command" ? scrubCommand(desc.value) : scrub(desc.value, copies);
    } else if (key === "stack") {
      // Node 22 and later keep `stack` as an accessor that only works on the
      // error it belongs to: the copy gets its value.
      Object.defineProperty(copy, key, {
        value: (value as Error).stack,
        writable: true,
        configurable: true,
        enumerable: desc.enumerable ?? false,
      });
      continue;
    }
    Object.defineProperty(copy, key, desc);
  }
  return copy;
}

function scrubCommand(command: unknown): unknown {
  if (command === null || typeof command !== "object") return command;
  const args = (command as { args?: unknown }).args;
  if (!Array.isArray(args) || args.every((a) => a === REDACTED)) return command;
  return { ...command, args: args.map(() => REDACTED) };
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

/** What every call of a closed store fails with. */
export function closedError(): RedisStoreError {
  return new RedisStoreError(
    ErrorCodes.CLOSED,
    "The store is closed; create a new RedisStore to use Redis again",
  );
}

/**
 * What a pipeline reply that never came is taken as: a failure (the command
 * may or may not have run), and retryable, as a dropped connection is.
 */
export function missingReply(): Error {
  return new Error("Connection is closed: a pipeline reply is missing");
}

const AUTH_REPLY =
  /^(WRONGPASS|NOAUTH|NOPERM)\b|invalid (username-)?password|AUTH.*without any password/i;

/** True when a client error says the credentials are wrong or missing. */
export function isAuthError(err: unknown): boolean {
  return err instanceof Error && AUTH_REPLY.test(err.message);
}

/**
 * Wraps anything thrown by the client into a RedisStoreError. Errors that are
 * already ours pass through unchanged.
 */
export function toStoreError(err: unknown, op: string, details: RedisStoreErrorDetails = {}) {
  if (err instanceof RedisStoreError) return err;
  const cause = err;
  const text = err instanceof Error ? err.message : String(err);
  const where = details.sid === undefined ? "" : ` for session "${details.sid}"`;
  if (isAuthError(err)) {
    return new AuthenticationError(
      `Redis rejected the store's credentials during ${op}${where}: ${text}. ` +
        "Check `password`/`username` (or the user:pass in `url`).",
      { ...details, cause },
    );
  }
  const name = err instanceof Error ? err.name : "";
  if (name === "ReplyError" || /^[A-Z]{3,}[A-Z_]* /.test(text)) {
    return new RedisStoreError(ErrorCodes.REDIS, `Redis refused ${op}${where}: ${text}`, {
      ...details,
      cause,
    });
  }
  return new RedisStoreError(
    ErrorCodes.CONNECTION,
    `${op}${where} failed: ${text}. Redis could not be reached or the connection dropped.`,
    { ...details, cause },
  );
}

/**
 * Some listed sessions of a user could not be checked. `live` holds those
 * that could and are the user's: destroyFor still destroys them before it
 * rejects.
 */
export class UncheckedSessions extends RedisStoreError {
  constructor(
    user: string,
    readonly live: string[],
    readonly failed: Array<{ sid: string; err: unknown }>,
  ) {
    const first = toStoreError(failed[0]!.err, "loading a listed session", {
      sid: failed[0]!.sid,
    });
    super(
      first.code,
      `${failed.length} listed session(s) of user "${user}" could not be checked ` +
        `(${failed.map((f) => `"${f.sid}"`).join(", ")}): ${first.message}`,
      { cause: first },
    );
  }
}

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
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
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

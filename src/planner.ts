import { ConfigurationError, SessionEncodeError } from "./errors.js";
import type { KeyScheme } from "./keys.js";
import type { Codec } from "./serializer.js";
import { sessionTtlMs, type TtlOption, toPx } from "./ttl.js";

/**
 * The operation planner: pure functions that work out, once per call, what
 * an operation sends (key, TTL in ms, encoded value, user), and throw the
 * coded errors for what cannot be sent. Nothing here talks to Redis.
 */

export interface PlanContext {
  /** The key scheme of the topology in use (hash tags on a cluster). */
  readonly keys: KeyScheme;
  readonly ttl: TtlOption;
  readonly disableTTL: boolean;
  readonly codec: Codec;
  readonly indexBy: ((session: any) => string | undefined) | undefined;
}

/** A write of the whole session. */
export interface SetPlan {
  readonly op: "set";
  readonly sid: string;
  readonly key: string;
  readonly value: string | Buffer;
  /** Whole milliseconds to live; undefined: never expires (`disableTTL`). */
  readonly ttlMs: number | undefined;
  /** The user the per-user index lists it under; undefined: none (or no index). */
  readonly user: string | undefined;
}

export interface DestroyPlan {
  readonly op: "destroy";
  readonly sid: string;
  readonly key: string;
}

export interface TouchPlan {
  readonly sid: string;
  readonly key: string;
  readonly ttlMs: number;
  readonly user: string | undefined;
}

/** The sid the index can never list: index sets keep "" as a placeholder member. */
const UNINDEXABLE_SID = "";

/** The session's user by `indexBy`, or undefined; a throwing or non-string `indexBy` is a configuration error. */
export function userOf(
  indexBy: ((session: any) => string | undefined) | undefined,
  sid: string,
  session: unknown,
): string | undefined {
  if (indexBy === undefined) return undefined;
  let user: unknown;
  try {
    user = indexBy(session);
  } catch (err) {
    throw new ConfigurationError(
      `\`indexBy\` threw for session "${sid}" (${(err as Error).message}); it must return a user id or undefined`,
      { sid, cause: err },
    );
  }
  if (user === undefined || user === null || user === "") return undefined;
  if (typeof user !== "string" && typeof user !== "number") {
    throw new ConfigurationError(
      `\`indexBy\` returned ${typeof user} for session "${sid}"; it must return a string user id or undefined`,
      { sid },
    );
  }
  if (sid === UNINDEXABLE_SID) {
    throw new SessionEncodeError(
      "An empty session id cannot be listed in the per-user index (`indexBy`); nothing was written",
      { sid },
    );
  }
  return String(user);
}

/** Milliseconds to live, refusing a `ttl` function that returned no number. */
function ttlMsOf(ctx: PlanContext, sid: string, session: unknown, now: number): number {
  const ms = sessionTtlMs(session, ctx.ttl, now);
  if (Number.isNaN(ms)) {
    throw new ConfigurationError(
      `The \`ttl\` function returned a value that is not a number for session "${sid}"; it must return a number of seconds`,
      { sid },
    );
  }
  return ms <= 0 ? ms : toPx(ms);
}

export function encode(codec: Codec, sid: string, session: unknown): string | Buffer {
  try {
    return codec.encode(session);
  } catch (err) {
    throw new SessionEncodeError(
      `Session "${sid}" could not be serialized (${(err as Error).message}); nothing was written`,
      { sid, cause: err },
    );
  }
}

/** A `set`: the session's write, or its destruction when its TTL is already over. */
export function planSet(
  ctx: PlanContext,
  sid: string,
  session: unknown,
  now: number,
): SetPlan | DestroyPlan {
  const key = ctx.keys.key(sid);
  const ttlMs = ctx.disableTTL ? undefined : ttlMsOf(ctx, sid, session, now);
  if (ttlMs !== undefined && ttlMs <= 0) return { op: "destroy", sid, key };
  const value = encode(ctx.codec, sid, session);
  const user = userOf(ctx.indexBy, sid, session);
  return { op: "set", sid, key, value, ttlMs, user };
}

export function planDestroy(ctx: PlanContext, sid: string): DestroyPlan {
  return { op: "destroy", sid, key: ctx.keys.key(sid) };
}

/**
 * A `touch`: the new TTL of the session key (and of its user's index key).
 * A TTL already over is refreshed to 1 ms: the session expires at once, as
 * its cookie says, without a touch rewriting or deleting anything.
 */
export function planTouch(ctx: PlanContext, sid: string, session: unknown, now: number): TouchPlan {
  const ttlMs = Math.max(1, ttlMsOf(ctx, sid, session, now));
  return { sid, key: ctx.keys.key(sid), ttlMs, user: userOf(ctx.indexBy, sid, session) };
}

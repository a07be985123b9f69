import type { SessionData } from "express-session";
import type { Cluster, Redis } from "ioredis";
import { closedLoop, type LoadResult } from "./load.js";
import { typicalSession } from "./sessions.js";

/**
 * What a store-ops row (or a profiled loop) drives: one implementation's
 * `get`, `set` and `touch`, and how to stop what it opened.
 */

export type Op = "get" | "set" | "touch";

export const OPS: readonly Op[] = ["get", "set", "touch"];

export interface Subject {
  id: string;
  label: string;
  /** Operations this row is measured on (default: all). */
  ops?: Op[];
  get(sid: string): Promise<unknown>;
  set(sid: string, sess: SessionData): Promise<unknown>;
  touch(sid: string, sess: SessionData): Promise<unknown>;
  stop(): Promise<void>;
}

export interface Store {
  get(sid: string): Promise<unknown>;
  set(sid: string, sess: SessionData): Promise<unknown>;
  touch(sid: string, sess: SessionData): Promise<unknown>;
}

export function storeSubject(
  id: string,
  label: string,
  store: Store,
  stop: () => Promise<unknown>,
): Subject {
  return {
    id,
    label,
    get: (sid) => store.get(sid),
    set: (sid, sess) => store.set(sid, sess),
    touch: (sid, sess) => store.touch(sid, sess),
    stop: async () => {
      await stop();
    },
  };
}

const DAY_MS = 86_400_000;

/** Milliseconds left on the cookie (a day without one): what a careful caller hands PX/PEXPIRE. */
export function ttlMs(sess: SessionData): number {
  const expires = sess.cookie?.expires;
  return expires ? new Date(expires).getTime() - Date.now() : DAY_MS;
}

/**
 * Raw ioredis with JSON: what a careful user would send by hand, and nothing
 * else. `SET key json PX ms`, `GET` + `JSON.parse`, `PEXPIRE key ms`; a cookie
 * that has already run out deletes the key, because Redis refuses a TTL <= 0.
 */
export function rawSubject(
  id: string,
  label: string,
  client: Redis | Cluster,
  prefix: string,
): Subject {
  return {
    id,
    label,
    get: async (sid) => {
      const text = await client.get(prefix + sid);
      return text === null ? null : JSON.parse(text);
    },
    set: (sid, sess) => {
      const ms = ttlMs(sess);
      return ms > 0
        ? client.set(prefix + sid, JSON.stringify(sess), "PX", ms)
        : client.del(prefix + sid);
    },
    touch: (sid, sess) => {
      const ms = ttlMs(sess);
      return ms > 0 ? client.pexpire(prefix + sid, ms) : client.del(prefix + sid);
    },
    stop: async () => {
      await client.quit();
    },
  };
}

/** Distinct sessions each implementation cycles through. */
export const POOL = 2000;

const SIDS = Array.from({ length: POOL }, (_, i) => `s${i}`);

/** A closed loop of one operation over the pool's sessions (populated first for get and touch). */
export function measure(
  subject: Subject,
  op: Op,
  concurrency: number,
  durationMs: number,
): Promise<LoadResult> {
  const sess = typicalSession();
  const call =
    op === "get"
      ? (i: number) => subject.get(SIDS[i % POOL]!)
      : op === "set"
        ? (i: number) => subject.set(SIDS[i % POOL]!, sess)
        : (i: number) => subject.touch(SIDS[i % POOL]!, sess);
  return closedLoop(call, { concurrency, durationMs });
}

/** Writes every session of the pool once, so get and touch find them. */
export async function populate(subject: Subject): Promise<void> {
  const r = await closedLoop((i) => subject.set(SIDS[i]!, typicalSession()), {
    concurrency: 50,
    durationMs: 60_000,
    maxOps: POOL,
  });
  // connect-redis 10 on an ioredis Cluster cannot write; store-ops measures it on set only, to show that.
  if (r.error) {
    console.log(`  (${subject.label}: set failed while populating: ${r.error})`);
  }
}

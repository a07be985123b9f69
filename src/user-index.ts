import { createHash } from "node:crypto";
import type { SessionData } from "express-session";
import { ConfigurationError } from "./errors.js";
import type { AnyClient } from "./topology/manager.js";

/**
 * Per-user session index ("log out everywhere").
 *
 * Each user's sids live in one Redis set, `indexPrefix + "{" + user + "}"`:
 * the hash tag keeps one user's index in one slot, and the prefix keeps it
 * outside the session keyspace, so it never shows in length()/ids().
 *
 * The index is a hint, the session keys are the truth. `set` adds the sid to
 * its user's set and extends the set's TTL to the session's (never shortens
 * it: EXPIRE/PEXPIREAT ... GT), so an index outlives none of its sessions
 * and disappears with the last one. Reads verify every sid against its
 * session (still there, still this user's) and drop the ones that are not:
 * expired sessions, sessions destroyed elsewhere, and sessions whose user
 * changed or became undefined. On a cluster the sessions can sit on other
 * masters than the index; each check goes to the sid's own node.
 */
// KEYS[1] = index key, ARGV[1] = sid, ARGV[2] = expiry in ms since the epoch, or "" for none.
// GT treats a key without a TTL as infinite, so a new index key gets its
// first expiry from NX; GT then only ever extends it.
const ADD_SCRIPT = [
  "redis.call('SADD', KEYS[1], ARGV[1])",
  "if ARGV[2] == '' then",
  "  redis.call('PERSIST', KEYS[1])",
  "else",
  "  redis.call('PEXPIREAT', KEYS[1], ARGV[2], 'NX')",
  "  redis.call('PEXPIREAT', KEYS[1], ARGV[2], 'GT')",
  "end",
  "return 1",
].join("\n");
const ADD_SHA = createHash("sha1").update(ADD_SCRIPT).digest("hex");

export class UserIndex {
  constructor(
    readonly prefix: string,
    private readonly indexBy: (session: any) => string | undefined,
  ) {}

  key(user: string): string {
    return `${this.prefix}{${user}}`;
  }

  /** The session's user, or undefined; a throwing or non-string indexBy is a configuration error. */
  userOf(sid: string, session: unknown): string | undefined {
    let user: unknown;
    try {
      user = this.indexBy(session);
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
    return String(user);
  }

  /**
   * Adds the sid to its user's index and extends the index key's expiry to
   * `expireAtMs` (never shortens it; undefined: the session never expires).
   * One script call instead of three commands, to keep the index cheap per
   * `set`. Needs Redis >= 7.0 (PEXPIREAT NX/GT).
   */
  add(client: AnyClient, user: string, sid: string, expireAtMs?: number): Promise<unknown> {
    const args = [this.key(user), sid, expireAtMs === undefined ? "" : String(expireAtMs)];
    return client.evalsha(ADD_SHA, 1, ...args).catch((err: Error) => {
      // First call on this node since it started: send the script itself once.
      if (!/NOSCRIPT/.test(err.message)) throw err;
      return client.eval(ADD_SCRIPT, 1, ...args);
    });
  }

  /**
   * Sids of `user` whose session still exists and still belongs to them.
   * Stale entries are removed from the index as a side effect.
   */
  async live(
    client: AnyClient,
    user: string,
    load: (sid: string) => Promise<SessionData | null>,
  ): Promise<string[]> {
    const key = this.key(user);
    const sids = (await client.smembers(key)) as string[];
    if (sids.length === 0) return [];
    const checks = await Promise.all(
      sids.map(async (sid) => {
        try {
          const session = await load(sid);
          return session !== null && this.userOf(sid, session) === user;
        } catch {
          // An undecodable session cannot be attributed to anyone.
          return false;
        }
      }),
    );
    const live: string[] = [];
    const stale: string[] = [];
    sids.forEach((sid, i) => {
      (checks[i] ? live : stale).push(sid);
    });
    if (stale.length > 0) await client.srem(key, ...stale);
    return live;
  }
}

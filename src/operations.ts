import { debuglog } from "node:util";
import type { SessionData } from "express-session";
import { BoundedMap } from "./bounded-map.js";
import { RedisStoreError, toStoreError, UncheckedSessions } from "./errors.js";
import type { ResolvedOptions } from "./options.js";
import {
  type DestroyPlan,
  type PlanContext,
  planDestroy,
  planSet,
  planTouch,
  type SetPlan,
  userOf,
} from "./planner.js";
import { isRetryable } from "./retry.js";
import { decodeSession } from "./serializer.js";
import type { TurnCork } from "./topology/cork.js";
import type { AnyClient } from "./topology/manager.js";
import type { Done, Touches } from "./touch-batcher.js";
import type { UserIndex } from "./user-index.js";
import type { Command, Retry, Writer } from "./writer.js";

const debug = debuglog("connect-redis-ha");

/** Remembers when this process last refreshed a session's TTL, for `touchAfter`. */
class RefreshLog {
  private readonly at = new BoundedMap<string, number>(50_000);
  constructor(private readonly windowMs: number) {}

  record(sid: string, now: number): void {
    this.at.set(sid, now);
  }

  fresh(sid: string, now: number): boolean {
    const t = this.at.get(sid);
    return t !== undefined && now - t < this.windowMs;
  }

  forget(sid: string): void {
    this.at.delete(sid);
  }
}

export interface OperationDeps {
  readonly options: ResolvedOptions;
  /** Mutable: the key scheme follows the topology once it is known. */
  readonly plan: PlanContext;
  readonly counters: { commands: number; skipped: number };
  readonly writer: Writer;
  readonly touches: Touches;
  readonly index: UserIndex | undefined;
  readonly retry: Retry;
  readonly cork: TurnCork;
}

const unlink = (key: string): Command => ["unlink", key];

function setCommand(plan: SetPlan, onlyIfExists: boolean): Command {
  const { key, value, ttlMs } = plan;
  if (ttlMs === undefined) return onlyIfExists ? ["set", key, value, "XX"] : ["set", key, value];
  return onlyIfExists ? ["set", key, value, "PX", ttlMs, "XX"] : ["set", key, value, "PX", ttlMs];
}

/**
 * The store's operations on a known client: each plans once (planner.ts)
 * and sends what it planned one way, through the writer chosen at
 * construction. Every command is handed to the client synchronously, in
 * call order, so calls made in order reach Redis in order. Methods may
 * throw the planner's coded errors synchronously; the face turns them into
 * the caller's error.
 */
export class Operations {
  private readonly refreshLog: RefreshLog | undefined;
  /**
   * With the per-user index: the latest write issued per sid, so a `set`
   * that must be resent (see `set`) can tell whether a later write of the
   * same sid was issued meanwhile and leave the last word to it.
   */
  private readonly issued: BoundedMap<string, number> | undefined;
  private sequence = 0;

  constructor(private readonly deps: OperationDeps) {
    const { touchAfterMs } = deps.options;
    this.refreshLog = touchAfterMs > 0 ? new RefreshLog(touchAfterMs) : undefined;
    this.issued = deps.index ? new BoundedMap(50_000) : undefined;
  }

  get(client: AnyClient, sid: string): Promise<SessionData | null> {
    const { plan, counters, cork, retry } = this.deps;
    const key = plan.keys.key(sid);
    const buffer = plan.codec.reads === "buffer";
    const fetch = (): Promise<Buffer | string | null> => {
      counters.commands++;
      return buffer ? client.getBuffer(key) : client.get(key);
    };
    const decode = (raw: Buffer | string | null) =>
      raw === null ? null : decodeSession(plan.codec, sid, key, raw);
    const fail = (err: unknown): never => {
      throw toStoreError(err, "get", { sid, key });
    };
    cork.cork(client);
    return fetch().then(decode, (err: unknown) =>
      isRetryable(err) ? retry(fetch).then(decode, fail) : fail(err),
    );
  }

  set(client: AnyClient, sid: string, session: SessionData): Promise<unknown> {
    const now = Date.now();
    const planned = planSet(this.deps.plan, sid, session, now);
    if (planned.op === "destroy") return this.destroyPlanned(client, planned);
    this.deps.cork.cork(client);
    const sent = this.deps.index ? this.setIndexed(client, planned) : this.write(client, planned);
    const log = this.refreshLog;
    return log ? sent.then(() => log.record(sid, now)) : sent;
  }

  private write(client: AnyClient, plan: SetPlan, onlyIfExists = false): Promise<unknown> {
    return this.deps.writer.send(client, {
      op: "set",
      sid: plan.sid,
      key: plan.key,
      command: setCommand(plan, onlyIfExists),
    });
  }

  /**
   * A set with the per-user index. A sid this process indexed under the same
   * user, whose index is known to outlive the new TTL, needs only `SET ... XX`
   * (see UserIndex.known): XX proves the session still existed, so it is
   * still listed. When XX wrote nothing (the session was gone), the session
   * is indexed and written in full, unless a later write of this sid was
   * issued meanwhile: that one then has the last word, as call order says.
   */
  private setIndexed(client: AnyClient, plan: SetPlan): Promise<unknown> {
    const index = this.deps.index!;
    const seq = this.issue(plan.sid);
    const user = plan.user;
    if (user === undefined) {
      index.forget(plan.sid);
      return this.write(client, plan);
    }
    const ttlMs = plan.ttlMs ?? Number.POSITIVE_INFINITY;
    if (!index.known(client, plan.sid, user, ttlMs)) return this.indexAndWrite(client, plan, user);
    return this.write(client, plan, true).then((reply) => {
      if (reply !== null || this.issued!.get(plan.sid) !== seq) return reply;
      return this.indexAndWrite(client, plan, user);
    });
  }

  /**
   * Index and session in one round trip: the index addition joins this
   * turn's batch (one script call per node), the SET goes now; the set
   * resolves once both are applied. Fail closed: a session its user's index
   * may not list would survive "log out everywhere", so one whose index
   * update failed is removed again.
   */
  private indexAndWrite(client: AnyClient, plan: SetPlan, user: string): Promise<unknown> {
    const index = this.deps.index!;
    const indexed = index.add(client, user, plan.sid, plan.ttlMs ?? Number.POSITIVE_INFINITY);
    const written = this.write(client, plan);
    return Promise.all([indexed, written]).then(
      () => index.remember(client, plan.sid, user),
      (err: unknown) =>
        written.then(
          () => {
            const failure = toStoreError(err, "set (updating the per-user index)", plan);
            const undo = { op: "set", sid: plan.sid, key: plan.key, command: unlink(plan.key) };
            return this.deps.writer.send(client, undo).then(
              () => Promise.reject(failure),
              () => Promise.reject(failure),
            );
          },
          (setErr: unknown) => Promise.reject(setErr),
        ),
    );
  }

  destroy(client: AnyClient, sid: string): Promise<unknown> {
    return this.destroyPlanned(client, planDestroy(this.deps.plan, sid));
  }

  /**
   * UNLINK; with the per-user index, GETDEL instead, which deletes the
   * session and tells whose it was in one command (a GET first would let a
   * later set overtake the delete). The index entry is removed after.
   */
  private destroyPlanned(client: AnyClient, plan: DestroyPlan): Promise<unknown> {
    const { writer, index, cork } = this.deps;
    const { sid, key } = plan;
    this.refreshLog?.forget(sid);
    cork.cork(client);
    if (index === undefined)
      return writer.send(client, { op: "destroy", sid, key, command: unlink(key) });
    this.issue(sid);
    index.forget(sid);
    const command: Command = ["getdelBuffer", key];
    return writer.send(client, { op: "destroy", sid, key, command }).then((raw) => {
      if (raw === null || raw === undefined) return;
      // Whose it was only decides which index to clean: a stale entry is pruned
      // by the next read, so failing here fails no one.
      return Promise.resolve()
        .then(() => decodeSession(this.deps.plan.codec, sid, key, raw as Buffer))
        .then((session) => {
          const user = userOf(this.deps.options.indexBy, sid, session);
          if (user !== undefined) return index.drop(client, user, [sid], this.ttlOf(client));
        })
        .catch((err: unknown) => debug("destroy %s: index entry left to be pruned: %s", sid, err));
    });
  }

  /**
   * Refreshes the TTL of the session key, and of its user's index key when
   * the index might not outlive it; `done` gets null once both are applied,
   * or the first error: a touch whose index extension failed fails, on the
   * batched and the direct path alike.
   */
  touch(client: AnyClient, sid: string, session: SessionData, done: Done): void {
    const { options, counters, touches, index } = this.deps;
    if (options.disableTTL || options.disableTouch) {
      done(null);
      return;
    }
    const now = Date.now();
    const log = this.refreshLog;
    if (log?.fresh(sid, now)) {
      counters.skipped++;
      done(null);
      return;
    }
    const plan = planTouch(this.deps.plan, sid, session, now);
    const indexKey =
      plan.user === undefined ? undefined : index!.toExtend(client, plan.user, plan.ttlMs);
    if (indexKey === undefined && log === undefined) {
      touches.add(client, plan.key, plan.ttlMs, false, done);
      return;
    }
    let waiting = indexKey === undefined ? 1 : 2;
    let failure: Error | null = null;
    const finish = (err: Error | null) => {
      failure ??= err;
      if (--waiting > 0) return;
      if (failure) {
        done(failure);
        return;
      }
      if (indexKey !== undefined) index!.extended(client, indexKey, plan.ttlMs, now);
      log?.record(sid, now);
      done(null);
    };
    touches.add(client, plan.key, plan.ttlMs, false, finish);
    if (indexKey !== undefined) touches.add(client, indexKey, plan.ttlMs, true, finish);
  }

  /** Live sids of a user (see UserIndex.live). */
  idsFor(client: AnyClient, user: string): Promise<string[]> {
    return this.deps.index!.live(
      client,
      user,
      (sid) => this.get(client, sid),
      (sid, session) => userOf(this.deps.options.indexBy, sid, session),
      this.ttlOf(client),
    );
  }

  /**
   * "Log out everywhere". Every listed session that could be checked and is
   * the user's (but `except`) is destroyed; then, if any listed session could
   * not be checked or destroyed, the call rejects: a partial logout is never
   * reported as a whole one. Resolves with how many sessions were destroyed.
   */
  async destroyFor(client: AnyClient, user: string, except: string | undefined): Promise<number> {
    const index = this.deps.index!;
    let live: string[];
    let unchecked: UncheckedSessions | undefined;
    try {
      live = await this.idsFor(client, user);
    } catch (err) {
      if (!(err instanceof UncheckedSessions)) throw err;
      unchecked = err;
      live = err.live;
    }
    const doomed = live.filter((sid) => sid !== except);
    const results = await Promise.allSettled(
      doomed.map((sid) => {
        const key = this.deps.plan.keys.key(sid);
        this.refreshLog?.forget(sid);
        index.forget(sid);
        this.issue(sid);
        return this.deps.writer.send(client, { op: "destroyFor", sid, key, command: unlink(key) });
      }),
    );
    const destroyed = doomed.filter((_, i) => results[i]!.status === "fulfilled");
    const count = results.filter((r) => r.status === "fulfilled" && Number(r.value) > 0).length;
    if (destroyed.length > 0) {
      await index
        .drop(client, user, destroyed, this.ttlOf(client))
        .catch((err: unknown) =>
          debug("destroyFor %s: index entries left to be pruned: %s", user, err),
        );
    }
    if (unchecked) throw unchecked;
    const failures = results.filter((r): r is PromiseRejectedResult => r.status === "rejected");
    if (failures.length > 0) {
      const first = toStoreError(failures[0]!.reason, "destroyFor");
      throw new RedisStoreError(
        first.code,
        `destroyFor("${user}") destroyed ${count} session(s) but ${failures.length} of ${doomed.length} could not be destroyed: ${first.message}`,
        { cause: first },
      );
    }
    return count;
  }

  /** Sends the touches still waiting; resolves once every one sent has settled. */
  drain(): Promise<void> {
    return this.deps.touches.drain();
  }

  /** Forgets a sid the bulk `clear()` deleted. */
  forget(sid: string): void {
    this.refreshLog?.forget(sid);
    this.deps.index?.forget(sid);
  }

  private issue(sid: string): number {
    const seq = ++this.sequence;
    this.issued?.set(sid, seq);
    return seq;
  }

  /** A session key's PTTL (-2: missing, -1: no expiry), for the index's re-checks. */
  private ttlOf(client: AnyClient): (sid: string) => Promise<number> {
    return (sid) => {
      this.deps.counters.commands++;
      return client.pttl(this.deps.plan.keys.key(sid));
    };
  }
}

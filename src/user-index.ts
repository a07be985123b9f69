import type { SessionData } from "express-session";
import { BoundedMap } from "./bounded-map.js";
import { SessionDecodeError, UncheckedSessions } from "./errors.js";
import type { AnyClient } from "./topology/manager.js";
import { groupByNode, nodeIdFor } from "./topology/nodes.js";
import { ADD_SCRIPT, ADD_SHA } from "./user-index-script.js";
import type { Retry } from "./writer.js";

/** The member every index set keeps so that it never empties; not a sid. */
const PLACEHOLDER = "";

/** Sids per script call; keeps Lua's unpack() and one reply small. */
const MAX_SIDS_PER_CALL = 512;

/** Index keys (and sids) this process remembers, per generation (see BoundedMap). */
const MAX_REMEMBERED = 50_000;

/** One index key's additions in the current turn. */
interface PendingAdd {
  key: string;
  sids: string[];
  /** Longest TTL asked for, in ms; Infinity: a session that never expires. */
  ttlMs: number;
  waiters: Array<(err: Error | null) => void>;
}

/** What this process knows of an index key's expiry. */
interface Coverage {
  /** The key lives at least until then (ms since the epoch, this clock); Infinity: no expiry. */
  until: number;
  /** The node that said so; another node (a failover, a slot move) knows nothing of it. */
  node: string;
}

/**
 * Per-user session index ("log out everywhere").
 *
 * Each user's sids live in one Redis set, `indexPrefix + "{" + user + "}"`:
 * the hash tag keeps one user's index in one slot, and the prefix keeps it
 * outside the session keyspace, so it never shows in length()/ids().
 *
 * The index is a hint, the session keys are the truth. `set` adds the sid to
 * its user's set and makes sure the set outlives the session (ADD_SCRIPT),
 * so an index key expires only after its last session can have. Reads verify
 * every sid against its session (still there, still this user's) and report
 * only those. Ids leave a set only once their session is gone (destroyed, or
 * found missing by a read); an id whose session moved to another user stays
 * as an unreported hint until the session ends. That rule is what lets a
 * process skip the index for a sid it indexed before (see `known`). On a
 * cluster the sessions can sit on other masters than the index; each check
 * goes to the sid's own node.
 */
export class UserIndex {
  private pending = new Map<string, PendingAdd>();
  private pendingClient: AnyClient | undefined;
  private scheduled = false;
  /** Index keys' known expiries, so most sets skip reading the TTL. */
  private readonly coverage = new BoundedMap<string, Coverage>(MAX_REMEMBERED);
  /** Clients this index listens to, and how to stop (close() returns a borrowed client as it was). */
  private readonly watched = new Map<AnyClient, () => void>();
  /** sid -> the user this process last indexed it under, and the node that holds that index. */
  private readonly indexedAs = new BoundedMap<string, { user: string; node: string }>(
    MAX_REMEMBERED,
  );

  constructor(
    readonly prefix: string,
    private readonly counters: { commands: number },
    private readonly retry: Retry,
  ) {}

  key(user: string): string {
    return `${this.prefix}{${user}}`;
  }

  /**
   * Adds the sid to its user's index and makes the index key live at least
   * `ttlMs` more (never shortens it; Infinity: the session never expires).
   *
   * Additions made in one turn of the event loop go out together: one script
   * call per node, sent from an immediate, right after the turn's SETs (which
   * the caller sends at once). On a cluster, replies from several nodes read
   * in one turn make one batch, not one per node.
   * The promise settles when this sid's addition is applied, or fails after
   * it was sent alone and retried through a failover.
   */
  add(client: AnyClient, user: string, sid: string, ttlMs: number): Promise<void> {
    if (this.pendingClient !== client) {
      this.flush();
      this.watch(client);
    }
    this.pendingClient = client;
    const key = this.key(user);
    let pending = this.pending.get(key);
    if (pending === undefined) {
      pending = { key, sids: [], ttlMs: 0, waiters: [] };
      this.pending.set(key, pending);
    }
    pending.sids.push(sid);
    pending.ttlMs = Math.max(pending.ttlMs, ttlMs);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.flush());
    }
    const waiters = pending.waiters;
    return new Promise<void>((resolve, reject) => {
      waiters.push((err) => (err ? reject(err) : resolve()));
    });
  }

  /** Sends every pending addition: one call per node, split at MAX_SIDS_PER_CALL. */
  private flush(): void {
    this.scheduled = false;
    const client = this.pendingClient;
    if (client === undefined || this.pending.size === 0) return;
    const all = [...this.pending.values()];
    this.pending = new Map();
    for (const group of groupByNode(client, all, (add) => add.key).values()) {
      let call: PendingAdd[] = [];
      let sids = 0;
      for (const add of group) {
        if (call.length > 0 && sids + add.sids.length > MAX_SIDS_PER_CALL) {
          this.sendBatch(client, call);
          call = [];
          sids = 0;
        }
        call.push(add);
        sids += add.sids.length;
      }
      this.sendBatch(client, call);
    }
  }

  /** One call for many keys; whatever did not succeed is sent again alone. */
  private sendBatch(client: AnyClient, adds: PendingAdd[]): void {
    const sentAt = Date.now();
    this.run(client, adds, false).then(
      (reply) => {
        adds.forEach((add, i) => {
          if (this.learn(client, add, reply[i], sentAt)) settleAdd(add, null);
          else this.sendAlone(client, add);
        });
      },
      () => {
        for (const add of adds) this.sendAlone(client, add);
      },
    );
  }

  /** One key's additions in a call of their own, routed by the client, TTL checked, retried. */
  private sendAlone(client: AnyClient, add: PendingAdd): void {
    this.retry(async () => {
      const sentAt = Date.now();
      const [result] = await this.run(client, [add], true);
      if (!this.learn(client, add, result, sentAt)) throw new Error(String(result));
    }).then(
      () => settleAdd(add, null),
      (err: Error) => settleAdd(add, err),
    );
  }

  private run(client: AnyClient, adds: PendingAdd[], checkAll: boolean): Promise<unknown[]> {
    const args: string[] = [adds[0]!.key];
    const now = Date.now();
    for (const add of adds) {
      const never = add.ttlMs === Number.POSITIVE_INFINITY;
      const check = checkAll || !this.covers(client, add.key, add.ttlMs, now);
      args.push(
        add.key,
        never ? "" : String(add.ttlMs),
        check ? "1" : "0",
        String(add.sids.length),
        ...add.sids,
      );
    }
    this.counters.commands++;
    return (client.evalsha(ADD_SHA, 1, ...args) as Promise<unknown[]>).catch((err: Error) => {
      // First call on this node since it started: send the script itself once.
      if (!/NOSCRIPT/.test(err.message)) throw err;
      this.counters.commands++;
      return client.eval(ADD_SCRIPT, 1, ...args) as Promise<unknown[]>;
    });
  }

  /** Records what one key's reply says of its expiry; false when the key failed. */
  private learn(client: AnyClient, add: PendingAdd, result: unknown, sentAt: number): boolean {
    if (typeof result !== "number") return false;
    if (result === -3) return true;
    // The TTL counts from when the script ran, which is after sentAt.
    const until = result === -1 ? Number.POSITIVE_INFINITY : sentAt + result;
    this.coverage.set(add.key, { until, node: nodeIdFor(client, add.key) });
    return true;
  }

  /**
   * Whether the index key is known to outlive a session given `ttlMs` from
   * now, as told by the node that still holds it.
   */
  covers(
    client: AnyClient,
    key: string,
    ttlMs: number,
    now = Date.now(),
    node = nodeIdFor(client, key),
  ): boolean {
    const known = this.coverage.get(key);
    return known !== undefined && known.node === node && known.until >= now + ttlMs;
  }

  /**
   * Forgets every known expiry and indexed sid when the connection drops: a
   * failover may have lost the last additions and extensions with the old
   * master. On a cluster the node recorded with each does the same for one
   * shard's failover or a slot move.
   */
  private watch(client: AnyClient): void {
    if (this.watched.has(client)) return;
    const forget = () => {
      this.coverage.clear();
      this.indexedAs.clear();
    };
    client.on("close", forget);
    this.watched.set(client, () => client.off("close", forget));
  }

  /**
   * The user's index key when a session refreshed to `ttlMs` could outlive
   * it (a touch must then extend it too), undefined when it is known to
   * live long enough.
   */
  toExtend(client: AnyClient, user: string, ttlMs: number): string | undefined {
    const key = this.key(user);
    return this.covers(client, key, ttlMs) ? undefined : key;
  }

  /** Records that a touch extended the index key to at least `ttlMs` from `sentAt`. */
  extended(client: AnyClient, key: string, ttlMs: number, sentAt: number): void {
    const known = this.coverage.get(key);
    const node = nodeIdFor(client, key);
    const until = sentAt + ttlMs;
    if (known === undefined || known.node !== node || known.until < until) {
      this.coverage.set(key, { until, node });
    }
  }

  /** Removes the listeners this index added to clients. */
  close(): void {
    for (const off of this.watched.values()) off();
    this.watched.clear();
  }

  /**
   * Whether a set of `sid` for `user` may leave the index alone: this process
   * indexed the sid under that user, and the user's index is known to outlive
   * the new TTL. The caller then writes with SET ... XX, which proves the
   * session still existed. Entries leave an index only once their session
   * is gone (destroy, destroyFor, a read that found it missing), so a session
   * that exists is still listed where this process put it. When it does not
   * exist, XX writes nothing and the caller indexes it in full.
   */
  known(client: AnyClient, sid: string, user: string, ttlMs: number): boolean {
    const known = this.indexedAs.get(sid);
    if (known === undefined || known.user !== user) return false;
    const key = this.key(user);
    const node = nodeIdFor(client, key);
    return known.node === node && this.covers(client, key, ttlMs, Date.now(), node);
  }

  /** Records that the sid is in `user`'s index, written by this process. */
  remember(client: AnyClient, sid: string, user: string): void {
    this.indexedAs.set(sid, { user, node: nodeIdFor(client, this.key(user)) });
  }

  forget(sid: string): void {
    this.indexedAs.delete(sid);
  }

  /**
   * Removes sids whose sessions are gone from `user`'s index. A set that
   * raced the removal may have brought a session back after it was found
   * missing; such a sid is added back, with its session's TTL, so that no
   * existing session is left out of its index. `ttlOf` gives a session
   * key's PTTL (-2: missing, -1: no expiry).
   */
  async drop(
    client: AnyClient,
    user: string,
    sids: string[],
    ttlOf: (sid: string) => Promise<number>,
  ): Promise<void> {
    sids = sids.filter((sid) => sid !== PLACEHOLDER);
    if (sids.length === 0) return;
    for (const sid of sids) this.forget(sid);
    this.counters.commands++;
    const key = this.key(user);
    await this.retry(() => client.srem(key, ...sids));
    const ttls = await Promise.all(sids.map((sid) => this.retry(() => ttlOf(sid))));
    await Promise.all(
      sids.map((sid, i) => {
        const ttl = ttls[i]!;
        if (ttl === -2) return undefined;
        return this.add(
          client,
          user,
          sid,
          ttl === -1 ? Number.POSITIVE_INFINITY : Math.max(ttl, 1),
        );
      }),
    );
  }

  /**
   * Sids of `user` whose session still exists and still belongs to them.
   * Sids whose session is gone are dropped from the index as a side effect.
   * A sid whose session now belongs to someone else, or cannot be decoded,
   * is left out of the answer but stays in the index until its session ends.
   * Any other failure to check a listed session rejects, with the sids that
   * could not be checked: a caller logging a user out everywhere must know.
   */
  async live(
    client: AnyClient,
    user: string,
    load: (sid: string) => Promise<SessionData | null>,
    userOf: (sid: string, session: SessionData) => string | undefined,
    ttlOf: (sid: string) => Promise<number>,
  ): Promise<string[]> {
    const key = this.key(user);
    this.counters.commands++;
    const members = (await this.retry(() => client.smembers(key))) as string[];
    const sids = members.filter((m) => m !== PLACEHOLDER);
    if (sids.length === 0) return [];
    const failed: Array<{ sid: string; err: unknown }> = [];
    const states = await Promise.all(
      sids.map(async (sid) => {
        try {
          const session = await load(sid);
          if (session === null) return "gone";
          return userOf(sid, session) === user ? "live" : "other";
        } catch (err) {
          // An undecodable session cannot be attributed to anyone (nor used by anyone).
          if (err instanceof SessionDecodeError) return "other";
          failed.push({ sid, err });
          return "unknown";
        }
      }),
    );
    const live = sids.filter((_, i) => states[i] === "live");
    const gone = sids.filter((_, i) => states[i] === "gone");
    if (gone.length > 0) await this.drop(client, user, gone, ttlOf);
    if (failed.length > 0) throw new UncheckedSessions(user, live, failed);
    return live;
  }
}

function settleAdd(add: PendingAdd, err: Error | null): void {
  for (const done of add.waiters) done(err);
}

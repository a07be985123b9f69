import { missingReply, ReplicationShortfallError, toStoreError } from "./errors.js";
import { connectionFor, onlineReplicas, type ReplicaTracker } from "./replicas.js";
import { backoff, isRetryable } from "./retry.js";
import { hasEmptyHashTag } from "./slot.js";
import { type AnyClient, isClusterClient } from "./topology/manager.js";
import { groupByNode, refreshSlots } from "./topology/nodes.js";
import { sendCommand, type Write, type Writer } from "./writer.js";

/**
 * Writes that wait for replicas. The WAIT rides in the same pipeline as the
 * write, so it runs on the connection (and node) that applied the write.
 */

export interface DurabilitySettings {
  replicas: number;
  timeoutMs: number;
  onShortfall: "error" | "warn";
}

interface PendingWrite {
  write: Write;
  resolve: (reply: unknown) => void;
  reject: (err: unknown) => void;
  started: number;
  attempt: number;
}

export interface DurableWriterDeps {
  settings: DurabilitySettings;
  tracker: ReplicaTracker;
  /** How long a write may be resent through a failover. */
  retryWindowMs: number;
  onWarning: (err: ReplicationShortfallError) => void;
  counters: { pipelines: number; commands: number };
}

/**
 * Sends durable writes as one pipeline per node per turn of the event loop:
 * every write of the turn, then a single WAIT. WAIT blocks its connection
 * until it returns, so one WAIT per write would serialize concurrent writes
 * behind each other's timeouts (measured: 9 queued writes to a shard that
 * lost its replica took 9 s); one WAIT covers every write sent before it.
 * A pipeline whose write met a redirect or a dropped connection is resent
 * whole, to the current owner, within `retryWindowMs`.
 */
export class DurableWriter implements Writer {
  private queue: PendingWrite[] = [];
  private scheduled = false;
  private client: AnyClient | undefined;

  constructor(private readonly deps: DurableWriterDeps) {}

  /**
   * Keys with a write waiting to be resent, and the writes of the same key
   * that came after it: they are sent once it settles, so a resent write
   * never lands after a later one of its key.
   */
  private readonly parked = new Map<string, { leader: PendingWrite; waiting: PendingWrite[] }>();

  send(client: AnyClient, write: Write): Promise<unknown> {
    this.client = client;
    return new Promise<unknown>((resolve, reject) => {
      const w: PendingWrite = {
        write,
        resolve: (reply) => {
          resolve(reply);
          this.release(w);
        },
        reject: (err) => {
          reject(err);
          this.release(w);
        },
        started: Date.now(),
        attempt: 0,
      };
      const parked = this.parked.get(write.key);
      if (parked) parked.waiting.push(w);
      else this.enqueue(w);
    });
  }

  /** Sends the writes that waited behind `w`, once `w` (a resent write) has settled. */
  private release(w: PendingWrite): void {
    const parked = this.parked.get(w.write.key);
    if (parked?.leader !== w) return;
    this.parked.delete(w.write.key);
    for (const next of parked.waiting) this.enqueue(next);
  }

  private enqueue(w: PendingWrite): void {
    this.queue.push(w);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.flush());
    }
  }

  private async flush(): Promise<void> {
    this.scheduled = false;
    const batch = this.queue;
    this.queue = [];
    const client = this.client;
    if (batch.length === 0 || client === undefined) return;
    const groups = groupByNode(client, batch, (w) => w.write.key);
    await Promise.all([...groups].map(([node, group]) => this.sendGroup(client, node, group)));
  }

  private retryOrFail(client: AnyClient, w: PendingWrite, err: unknown): void {
    if (isRetryable(err) && Date.now() - w.started < this.deps.retryWindowMs) {
      const key = w.write.key;
      const parked = this.parked.get(key);
      if (parked === undefined) this.parked.set(key, { leader: w, waiting: [] });
      else if (parked.leader !== w) {
        // A write of a key whose earlier write is being resent goes after it.
        parked.waiting.push(w);
        return;
      }
      // The slot map may still name a dead or demoted master; ioredis only
      // refreshes it by itself for commands it retries itself.
      if (isClusterClient(client)) refreshSlots(client);
      const t = setTimeout(() => this.enqueue(w), backoff(w.attempt++));
      t.unref();
      return;
    }
    w.reject(toStoreError(err, w.write.op, w.write));
  }

  private async sendGroup(client: AnyClient, node: string, group: PendingWrite[]): Promise<void> {
    const { settings, tracker, counters } = this.deps;
    const verdict = tracker.settled(node);
    if (verdict) await verdict;
    const skipWait = tracker.isShort(node);
    // ioredis routes a pipeline by its own slot function, which differs from
    // Redis' for keys with an empty "{}" hash tag (see slot.ts): such a group
    // goes on its owner's own connection, or it would meet MOVED every time.
    const direct =
      isClusterClient(client) && group.some((w) => hasEmptyHashTag(w.write.key))
        ? connectionFor(client, node)
        : undefined;
    const p = (direct ?? client).pipeline();
    for (const w of group) void sendCommand(p, w.write.command);
    if (!skipWait) p.wait(settings.replicas, settings.timeoutMs);
    counters.pipelines++;
    counters.commands += group.length + (skipWait ? 0 : 1);
    let results: Array<[Error | null, unknown]>;
    try {
      results = ((await p.exec()) ?? []) as Array<[Error | null, unknown]>;
      if (results.length < group.length + (skipWait ? 0 : 1)) throw missingReply();
    } catch (err) {
      for (const w of group) this.retryOrFail(client, w, err);
      return;
    }
    const written: PendingWrite[] = [];
    const replies: unknown[] = [];
    group.forEach((w, i) => {
      const [err, reply] = results[i]!;
      if (err) this.retryOrFail(client, w, err);
      else {
        written.push(w);
        replies.push(reply);
      }
    });
    if (written.length === 0) return;
    let acked = 0;
    if (!skipWait) {
      const [waitErr, count] = results[group.length]!;
      if (waitErr) {
        // e.g. UNBLOCKED: the master was demoted under the WAIT and the
        // writes may be gone with it: send them again to the new owner.
        for (const w of written) this.retryOrFail(client, w, waitErr);
        return;
      }
      acked = Number(count);
    }
    if (acked >= settings.replicas) {
      written.forEach((w, i) => {
        w.resolve(replies[i]);
      });
      return;
    }
    if (!skipWait) {
      tracker.markShort(node, async () => {
        const conn = connectionFor(client, node);
        return conn ? onlineReplicas(conn) : 0;
      });
    }
    written.forEach((w, i) => {
      const { op, sid, key } = w.write;
      const err = new ReplicationShortfallError(
        `${op} of session "${sid}" reached ${acked} of ${settings.replicas} required replica(s)` +
          (skipWait
            ? " (its master has no connected replica)"
            : ` within ${settings.timeoutMs} ms`) +
          "; the write was applied on the master but may be lost in a failover. " +
          'Set `durability.onShortfall: "warn"` to accept this.',
        acked,
        settings.replicas,
        { sid, key },
      );
      if (settings.onShortfall === "error") w.reject(err);
      else {
        this.deps.onWarning(err);
        w.resolve(replies[i]);
      }
    });
  }
}

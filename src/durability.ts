import type { ChainableCommander, Cluster, Redis } from "ioredis";
import { ReplicationShortfallError, toStoreError } from "./errors.js";
import { backoff, isRetryable } from "./retry.js";
import { type AnyClient, isClusterClient } from "./topology/manager.js";
import { groupByNode, refreshSlots } from "./topology/nodes.js";

/**
 * Writes that wait for replicas. The WAIT rides in the same pipeline as the
 * write, so it runs on the connection (and node) that applied the write.
 */

export interface DurabilitySettings {
  replicas: number;
  timeoutMs: number;
  onShortfall: "error" | "warn";
}

/**
 * Remembers nodes that were found without enough connected replicas, so
 * later writes there decide the shortfall at once instead of waiting
 * `timeoutMs` each. A background probe clears the mark when replicas return.
 */
export class ReplicaTracker {
  private readonly short = new Map<string, NodeJS.Timeout>();
  private closed = false;

  constructor(
    private readonly required: number,
    private readonly probeEveryMs = 250,
  ) {}

  isShort(node: string): boolean {
    return this.short.has(node);
  }

  markShort(node: string, probe: () => Promise<number>): void {
    if (this.closed || this.short.has(node)) return;
    const tick = async () => {
      if (this.closed || !this.short.has(node)) return;
      let online = 0;
      try {
        online = await probe();
      } catch {
        online = 0;
      }
      if (online >= this.required) this.short.delete(node);
      else if (!this.closed && this.short.has(node)) {
        const t = setTimeout(tick, this.probeEveryMs);
        t.unref();
        this.short.set(node, t);
      }
    };
    const t = setTimeout(tick, this.probeEveryMs);
    t.unref();
    this.short.set(node, t);
  }

  /**
   * Probes `node` now and marks it short if it has fewer replicas online
   * than required: used for a freshly promoted master, so not even the first
   * write there waits for a WAIT to time out.
   */
  check(node: string, probe: () => Promise<number>): void {
    if (this.closed || this.short.has(node)) return;
    probe().then(
      (online) => {
        if (online < this.required) this.markShort(node, probe);
      },
      () => {},
    );
  }

  /** Forgets every mark, e.g. after a Sentinel switch to a new master. */
  reset(): void {
    for (const t of this.short.values()) clearTimeout(t);
    this.short.clear();
  }

  close(): void {
    this.closed = true;
    this.reset();
  }
}

/** Replicas a node reports as online, from INFO replication. */
export async function onlineReplicas(node: Redis): Promise<number> {
  const info = String(await node.info("replication"));
  let n = 0;
  for (const line of info.split("\n")) {
    if (/^slave\d+:/.test(line) && line.includes("state=online")) n++;
  }
  return n;
}

export function connectionFor(client: AnyClient, node: string): Redis | undefined {
  if (!isClusterClient(client)) return client as Redis;
  return (client as Cluster)
    .nodes("master")
    .find((n) => `${n.options.host}:${n.options.port}` === node);
}

interface PendingWrite {
  key: string;
  sid: string;
  op: string;
  write: (p: ChainableCommander) => void;
  resolve: () => void;
  reject: (err: unknown) => void;
  started: number;
  attempt: number;
}

export interface DurableWriterDeps {
  client: () => AnyClient | Promise<AnyClient>;
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
export class DurableWriter {
  private queue: PendingWrite[] = [];
  private scheduled = false;

  constructor(private readonly deps: DurableWriterDeps) {}

  write(
    op: string,
    sid: string,
    key: string,
    write: (p: ChainableCommander) => void,
  ): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.enqueue({ key, sid, op, write, resolve, reject, started: Date.now(), attempt: 0 });
    });
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
    if (batch.length === 0) return;
    let client: AnyClient;
    try {
      client = await this.deps.client();
    } catch (err) {
      for (const w of batch) w.reject(err);
      return;
    }
    const groups = groupByNode(client, batch);
    await Promise.all([...groups].map(([node, group]) => this.send(client, node, group)));
  }

  private retryOrFail(client: AnyClient, w: PendingWrite, err: unknown): void {
    if (isRetryable(err) && Date.now() - w.started < this.deps.retryWindowMs) {
      // The slot map may still name a dead or demoted master; ioredis only
      // refreshes it by itself for commands it retries itself.
      if (isClusterClient(client)) refreshSlots(client);
      const t = setTimeout(() => this.enqueue(w), backoff(w.attempt++));
      t.unref();
      return;
    }
    w.reject(toStoreError(err, w.op, { sid: w.sid, key: w.key }));
  }

  private async send(client: AnyClient, node: string, group: PendingWrite[]): Promise<void> {
    const { settings, tracker, counters } = this.deps;
    const skipWait = tracker.isShort(node);
    const p = client.pipeline();
    for (const w of group) w.write(p);
    if (!skipWait) p.wait(settings.replicas, settings.timeoutMs);
    counters.pipelines++;
    counters.commands += group.length + (skipWait ? 0 : 1);
    let results: Array<[Error | null, unknown]>;
    try {
      results = ((await p.exec()) ?? []) as Array<[Error | null, unknown]>;
    } catch (err) {
      for (const w of group) this.retryOrFail(client, w, err);
      return;
    }
    const written: PendingWrite[] = [];
    group.forEach((w, i) => {
      const err = results[i]?.[0] ?? (results[i] ? null : new Error("Connection is closed."));
      if (err) this.retryOrFail(client, w, err);
      else written.push(w);
    });
    if (written.length === 0) return;
    let acked = 0;
    if (!skipWait) {
      const [waitErr, count] = results[group.length] ?? [new Error("Connection is closed."), 0];
      if (waitErr) {
        // e.g. UNBLOCKED: the master was demoted under the WAIT and the
        // writes may be gone with it: send them again to the new owner.
        for (const w of written) this.retryOrFail(client, w, waitErr);
        return;
      }
      acked = Number(count);
    }
    if (acked >= settings.replicas) {
      for (const w of written) w.resolve();
      return;
    }
    if (!skipWait) {
      tracker.markShort(node, async () => {
        const conn = connectionFor(client, node);
        return conn ? onlineReplicas(conn) : 0;
      });
    }
    for (const w of written) {
      const err = new ReplicationShortfallError(
        `${w.op} of session "${w.sid}" reached ${acked} of ${settings.replicas} required replica(s)` +
          (skipWait
            ? " (its master has no connected replica)"
            : ` within ${settings.timeoutMs} ms`) +
          "; the write was applied on the master but may be lost in a failover. " +
          'Set `durability.onShortfall: "warn"` to accept this.',
        acked,
        settings.replicas,
        { sid: w.sid, key: w.key },
      );
      if (settings.onShortfall === "error") w.reject(err);
      else {
        this.deps.onWarning(err);
        w.resolve();
      }
    }
  }
}

import type { Redis } from "ioredis";
import { isRetryable, retrying } from "./retry.js";
import { type AnyClient, isClusterClient } from "./topology/manager.js";
import { groupByNode, refreshSlots } from "./topology/nodes.js";

export type Done = (err: Error | null) => void;

interface PendingTouch {
  key: string;
  seconds: number;
  /** Only ever extend the TTL (EXPIRE ... GT): for keys shared by several sessions. */
  extendOnly: boolean;
  waiters: Done[];
}

export interface BatcherCounters {
  pipelines: number;
  commands: number;
  coalesced: number;
}

/**
 * Collects touches for one flush window and sends them as one EXPIRE
 * pipeline per node. A sid touched twice in a window is sent once with the
 * last TTL; every caller still gets its own callback.
 */
export class TouchBatcher {
  private queue = new Map<string, PendingTouch>();
  private scheduled: NodeJS.Immediate | NodeJS.Timeout | undefined;
  private inflight = new Set<Promise<void>>();

  constructor(
    private readonly client: () => AnyClient | Promise<AnyClient>,
    private readonly maxDelayMs: number,
    private readonly maxSize: number,
    private readonly counters: BatcherCounters,
    private readonly retryWindowMs: number,
  ) {}

  add(key: string, seconds: number, done: Done, extendOnly = false): void {
    const pending = this.queue.get(key);
    if (pending) {
      pending.seconds = extendOnly ? Math.max(pending.seconds, seconds) : seconds;
      pending.waiters.push(done);
      this.counters.coalesced++;
    } else {
      this.queue.set(key, { key, seconds, extendOnly, waiters: [done] });
    }
    if (this.queue.size >= this.maxSize) this.flush();
    else if (!this.scheduled) {
      this.scheduled =
        this.maxDelayMs > 0
          ? setTimeout(() => this.flush(), this.maxDelayMs)
          : setImmediate(() => this.flush());
    }
  }

  /** Sends everything queued now. */
  flush(): void {
    if (this.scheduled) {
      clearTimeout(this.scheduled as NodeJS.Timeout);
      clearImmediate(this.scheduled as NodeJS.Immediate);
      this.scheduled = undefined;
    }
    if (this.queue.size === 0) return;
    const batch = [...this.queue.values()];
    this.queue = new Map();
    const run = this.send(batch).finally(() => this.inflight.delete(run));
    this.inflight.add(run);
  }

  /** Flushes and waits for every touch sent so far to settle. */
  async drain(): Promise<void> {
    this.flush();
    while (this.inflight.size > 0) await Promise.all([...this.inflight]);
  }

  private async send(batch: PendingTouch[]): Promise<void> {
    let client: AnyClient;
    try {
      client = await this.client();
    } catch (err) {
      for (const t of batch) settle(t, err as Error);
      return;
    }
    const groups = [...groupByNode(client, batch).values()];
    await Promise.all(groups.map((group) => this.sendGroup(client, group)));
  }

  private async sendGroup(client: AnyClient, group: PendingTouch[]): Promise<void> {
    for (let start = 0; start < group.length; start += this.maxSize) {
      const chunk = group.slice(start, start + this.maxSize);
      const pipeline = (client as Redis).pipeline();
      for (const t of chunk) {
        if (t.extendOnly) pipeline.expire(t.key, t.seconds, "GT");
        else pipeline.expire(t.key, t.seconds);
      }
      this.counters.pipelines++;
      this.counters.commands += chunk.length;
      let results: Array<[Error | null, unknown]> | null;
      try {
        results = await pipeline.exec();
      } catch {
        // The whole pipeline was refused (e.g. keys spread over nodes after a
        // slot move): send each touch alone and let the client route it.
        await Promise.all(chunk.map((t) => this.resendAlone(client, t)));
        continue;
      }
      const retries: Promise<void>[] = [];
      chunk.forEach((t, i) => {
        const err = results?.[i]?.[0] ?? null;
        if (err && isRetryable(err)) retries.push(this.resendAlone(client, t));
        else settle(t, err);
      });
      if (retries.length > 0) await Promise.all(retries);
    }
  }

  /** One touch on its own, routed by the client, retried through a failover. */
  private async resendAlone(client: AnyClient, t: PendingTouch): Promise<void> {
    try {
      this.counters.commands++;
      await retrying(
        () =>
          t.extendOnly ? client.expire(t.key, t.seconds, "GT") : client.expire(t.key, t.seconds),
        this.retryWindowMs,
        undefined,
        () => {
          if (isClusterClient(client)) refreshSlots(client);
        },
      );
      settle(t, null);
    } catch (err) {
      settle(t, err as Error);
    }
  }
}

function settle(t: PendingTouch, err: Error | null): void {
  for (const done of t.waiters) done(err);
}

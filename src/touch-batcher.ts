import { toStoreError } from "./errors.js";
import { isRetryable } from "./retry.js";
import type { AnyClient } from "./topology/manager.js";
import type { Retry } from "./writer.js";

export type Done = (err: Error | null) => void;

/** One key's touches in the current window. */
interface PendingTouch {
  key: string;
  ms: number;
  /** Only ever extend the TTL (PEXPIRE ... GT): for keys shared by several sessions. */
  extendOnly: boolean;
  waiters: Done[];
}

export interface BatcherCounters {
  pipelines: number;
  commands: number;
  coalesced: number;
}

/** Sends TTL refreshes: batched (TouchBatcher) or each on its own (DirectTouches), chosen once. */
export interface Touches {
  add(client: AnyClient, key: string, ms: number, extendOnly: boolean, done: Done): void;
  /** Sends what is waiting and resolves once every refresh sent so far has settled. */
  drain(): Promise<void>;
}

/** One PEXPIRE, resent through a failover; `done` gets null or the error. */
function refresh(
  client: AnyClient,
  t: { key: string; ms: number; extendOnly: boolean },
  retry: Retry,
  counters: { commands: number },
  done: Done,
): void {
  const send = () => {
    counters.commands++;
    return t.extendOnly ? client.pexpire(t.key, t.ms, "GT") : client.pexpire(t.key, t.ms);
  };
  send()
    .catch((err: unknown) => (isRetryable(err) ? retry(send) : Promise.reject(err)))
    .then(
      () => done(null),
      (err: unknown) => done(toStoreError(err, "touch", { key: t.key })),
    );
}

/** Counts refreshes in flight, so close() can wait for them. */
class InFlight {
  private count = 0;
  private idle: Array<() => void> = [];

  start(): void {
    this.count++;
  }

  end(): void {
    if (--this.count === 0) for (const resolve of this.idle.splice(0)) resolve();
  }

  settled(): Promise<void> {
    return this.count === 0 ? Promise.resolve() : new Promise((resolve) => this.idle.push(resolve));
  }
}

/** `batch: false`: every touch is sent at once, on its own. */
export class DirectTouches implements Touches {
  private readonly inflight = new InFlight();

  constructor(
    private readonly retry: Retry,
    private readonly counters: BatcherCounters,
    private readonly cork: (client: AnyClient, commands: number) => void,
  ) {}

  add(client: AnyClient, key: string, ms: number, extendOnly: boolean, done: Done): void {
    this.cork(client, 1);
    this.inflight.start();
    refresh(client, { key, ms, extendOnly }, this.retry, this.counters, (err) => {
      this.inflight.end();
      done(err);
    });
  }

  drain(): Promise<void> {
    return this.inflight.settled();
  }
}

/**
 * Collects the touches of one flush window and sends one PEXPIRE per key: a
 * key touched twice in a window is sent once with the last TTL (the longest,
 * for extend-only keys), and every caller still gets its own callback. The
 * commands of one flush leave in one socket write per node (the store corks
 * its connections for the turn, see topology/cork.ts), which is what a
 * pipeline per node would send, while the client routes each key to the
 * node that owns its slot and follows MOVED/ASK on its own.
 */
export class TouchBatcher implements Touches {
  private queue = new Map<string, PendingTouch>();
  private client: AnyClient | undefined;
  private scheduled: NodeJS.Immediate | NodeJS.Timeout | undefined;
  private readonly inflight = new InFlight();

  constructor(
    private readonly maxDelayMs: number,
    private readonly maxSize: number,
    private readonly counters: BatcherCounters,
    private readonly retry: Retry,
    /** Announces `commands` about to be sent to `client` in this turn (see topology/cork.ts). */
    private readonly cork: (client: AnyClient, commands: number) => void,
  ) {}

  add(client: AnyClient, key: string, ms: number, extendOnly: boolean, done: Done): void {
    this.client = client;
    const pending = this.queue.get(key);
    if (pending) {
      pending.ms = extendOnly ? Math.max(pending.ms, ms) : ms;
      pending.waiters.push(done);
      this.counters.coalesced++;
    } else {
      this.queue.set(key, { key, ms, extendOnly, waiters: [done] });
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
    const client = this.client;
    if (this.queue.size === 0 || client === undefined) return;
    const batch = this.queue;
    this.queue = new Map();
    this.counters.pipelines++;
    this.cork(client, batch.size);
    for (const t of batch.values()) {
      this.inflight.start();
      refresh(client, t, this.retry, this.counters, (err) => {
        this.inflight.end();
        for (const done of t.waiters) done(err);
      });
    }
  }

  drain(): Promise<void> {
    this.flush();
    return this.inflight.settled();
  }
}

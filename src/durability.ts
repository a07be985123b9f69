import type { ChainableCommander, Cluster, Redis } from "ioredis";
import { ReplicationShortfallError, toStoreError } from "./errors.js";
import { backoff, isRetryable, sleep } from "./retry.js";
import { keySlot } from "./slot.js";
import { type AnyClient, isClusterClient } from "./topology/manager.js";

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

/** The id of the node a key's write goes to (the master for its slot on a cluster). */
export function nodeIdFor(client: AnyClient, key: string): string {
  if (!isClusterClient(client)) return "master";
  const slots = (client as unknown as { slots: string[][] }).slots;
  return slots[keySlot(key)]?.[0] ?? "unknown";
}

function connectionFor(client: AnyClient, node: string): Redis | undefined {
  if (!isClusterClient(client)) return client as Redis;
  return (client as Cluster)
    .nodes("master")
    .find((n) => `${n.options.host}:${n.options.port}` === node);
}

export interface DurableWriteResult {
  /** Replicas that confirmed the write. */
  acknowledged: number;
}

/**
 * Sends `write` + WAIT as one pipeline and resends the whole pipeline when the
 * write met a redirect or a dropped connection, up to `deadlineMs`.
 * Throws the write's own error, or a ReplicationShortfallError in "error" mode.
 */
export async function durableWrite(
  client: AnyClient,
  key: string,
  write: (p: ChainableCommander) => void,
  settings: DurabilitySettings,
  tracker: ReplicaTracker,
  deadlineMs: number,
  details: { op: string; sid: string },
  onWarning: (err: ReplicationShortfallError) => void,
  counters: { pipelines: number; commands: number },
): Promise<void> {
  const started = Date.now();
  let attempt = 0;
  for (;;) {
    const node = nodeIdFor(client, key);
    const skipWait = tracker.isShort(node);
    const p = client.pipeline();
    write(p);
    if (!skipWait) p.wait(settings.replicas, settings.timeoutMs);
    counters.pipelines++;
    counters.commands += skipWait ? 1 : 2;
    let failure: unknown;
    let acked = 0;
    try {
      const results = (await p.exec()) ?? [];
      const [writeErr] = results[0] ?? [new Error("Connection is closed.")];
      if (writeErr) failure = writeErr;
      else if (!skipWait) {
        const [waitErr, count] = results[1] ?? [new Error("Connection is closed."), 0];
        if (waitErr) failure = waitErr;
        else acked = Number(count);
      }
    } catch (err) {
      failure = err;
    }
    if (failure !== undefined) {
      if (isRetryable(failure) && Date.now() - started < deadlineMs) {
        // Give the cluster/sentinel time to settle; the client refreshes its view meanwhile.
        await sleep(backoff(attempt++));
        if (isClusterClient(client) && /MOVED|ASK|CLUSTERDOWN|closed/i.test(String(failure))) {
          (client as unknown as { refreshSlotsCache?: () => void }).refreshSlotsCache?.();
        }
        continue;
      }
      throw toStoreError(failure, details.op, { sid: details.sid, key });
    }
    if (acked >= settings.replicas) return;
    if (!skipWait) {
      tracker.markShort(node, async () => {
        const conn = connectionFor(client, node);
        return conn ? onlineReplicas(conn) : 0;
      });
    }
    const err = new ReplicationShortfallError(
      `${details.op} of session "${details.sid}" reached ${acked} of ${settings.replicas} required replica(s)` +
        (skipWait ? " (the node has no connected replica)" : ` within ${settings.timeoutMs} ms`) +
        "; the write was applied on the master but may be lost in a failover. " +
        'Set `durability.onShortfall: "warn"` to accept this.',
      acked,
      settings.replicas,
      { sid: details.sid, key },
    );
    if (settings.onShortfall === "error") throw err;
    onWarning(err);
    return;
  }
}

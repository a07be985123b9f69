import type { Cluster, Redis } from "ioredis";
import { type AnyClient, isClusterClient } from "./topology/manager.js";

/**
 * What the store knows of each master's replicas, for durable writes: a
 * master known to have too few replicas online is not waited on (the
 * shortfall is decided at once). Masters are probed when they appear (a
 * Sentinel switch, a cluster slot-map refresh naming a new master).
 */

/**
 * Remembers nodes that were found without enough connected replicas, so
 * later writes there decide the shortfall at once instead of waiting
 * `timeoutMs` each. A background probe clears the mark when replicas return.
 */
export class ReplicaTracker {
  private readonly short = new Map<string, NodeJS.Timeout>();
  /** Fresh masters whose replicas may still be attaching: writes there wait for the verdict. */
  private readonly settling = new Map<string, { done: Promise<void> }>();
  private closed = false;

  constructor(
    private readonly required: number,
    /** How long a fresh master's replicas get to attach before it counts as short (`durability.timeoutMs`). */
    private readonly settleMs: number,
    private readonly probeEveryMs = 250,
  ) {}

  isShort(node: string): boolean {
    return this.short.has(node);
  }

  /** Resolves once a check of `node` started by `check()` has decided; undefined when none runs. */
  settled(node: string): Promise<void> | undefined {
    return this.settling.get(node)?.done;
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
   * Checks a freshly promoted master, so that not even the first write there
   * waits for a WAIT to time out. Right after a promotion the other replicas
   * are still re-attaching (a planned failover hands them over last; on a
   * busy machine that took ~300 ms in the failover suites), so one probe
   * that finds none proves nothing: the node is probed until enough replicas
   * are online or `settleMs` has passed, and writes to it wait for that
   * verdict instead of failing at once on a master about to have its replica.
   */
  check(node: string, probe: () => Promise<number>): void {
    if (this.closed || this.short.has(node) || this.settling.has(node)) return;
    const deadline = Date.now() + this.settleMs;
    const entry = { done: Promise.resolve() };
    this.settling.set(node, entry);
    entry.done = (async () => {
      for (;;) {
        let online = 0;
        try {
          online = await probe();
        } catch {
          online = 0;
        }
        if (this.closed || this.settling.get(node) !== entry) return;
        if (online >= this.required) return;
        const left = deadline - Date.now();
        if (left <= 0) {
          this.markShort(node, probe);
          return;
        }
        await new Promise((resolve) => setTimeout(resolve, Math.min(this.probeEveryMs, left)));
      }
    })().finally(() => {
      if (this.settling.get(node) === entry) this.settling.delete(node);
    });
  }

  /** Forgets every mark, e.g. after a Sentinel switch to a new master. */
  reset(): void {
    for (const t of this.short.values()) clearTimeout(t);
    this.short.clear();
    this.settling.clear();
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

/**
 * Probes every master as it appears: the Sentinel master after each
 * (re)connection, cluster masters a slot-map refresh names for the first
 * time. Returns a function that removes the listeners it added.
 */
export function watchReplicas(
  client: AnyClient,
  kind: "standalone" | "sentinel" | "cluster",
  tracker: ReplicaTracker,
): () => void {
  if (kind === "cluster") {
    const cluster = client as Cluster;
    const known = new Set<string>();
    const onRefresh = () => {
      const now = new Set<string>();
      for (const node of cluster.nodes("master")) {
        const id = `${node.options.host}:${node.options.port}`;
        now.add(id);
        if (!known.has(id)) tracker.check(id, () => onlineReplicas(node));
      }
      known.clear();
      for (const id of now) known.add(id);
    };
    cluster.on("refresh", onRefresh);
    if (cluster.status === "ready") onRefresh();
    return () => cluster.off("refresh", onRefresh);
  }
  if (kind === "sentinel") {
    const redis = client as Redis;
    // A new master may have other replicas: forget what we knew, and learn
    // at once whether it has enough, rather than from a WAIT timing out.
    const onReady = () => {
      tracker.reset();
      tracker.check("master", () => onlineReplicas(redis));
    };
    redis.on("ready", onReady);
    if (redis.status === "ready") onReady();
    return () => redis.off("ready", onReady);
  }
  return () => {};
}

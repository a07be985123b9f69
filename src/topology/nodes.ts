import type { Cluster } from "ioredis";
import { keySlot } from "../slot.js";
import { type AnyClient, isClusterClient } from "./manager.js";

/**
 * Which node a key's command goes to, as the client last saw the slot map:
 * the master's "host:port" on a cluster, "master" elsewhere (one connection).
 */
export function nodeIdFor(client: AnyClient, key: string): string {
  if (!isClusterClient(client)) return "master";
  const slots = (client as unknown as { slots: string[][] }).slots;
  return slots[keySlot(key)]?.[0] ?? "unknown";
}

/** Groups items by the node that owns each one's key, for one pipeline per node. */
export function groupByNode<T>(
  client: AnyClient,
  items: T[],
  keyOf: (item: T) => string,
): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const node = nodeIdFor(client, keyOf(item));
    const group = groups.get(node);
    if (group) group.push(item);
    else groups.set(node, [item]);
  }
  return groups;
}

/** Asks a cluster client to reload its slot map (ioredis ignores the call while one is running). */
export function refreshSlots(client: Cluster): void {
  (
    client as unknown as { refreshSlotsCache?: (cb?: (err?: Error) => void) => void }
  ).refreshSlotsCache?.(() => {});
}

/**
 * Whether a cluster client can route commands: it has a slot map ("connect":
 * its ready check is still running, and commands wait in the cluster's own
 * queue until it passes; ioredis calls the delayed callbacks at that point).
 */
export function hasSlotMap(client: Cluster): boolean {
  return client.status === "ready" || client.status === "connect";
}

/**
 * Resolves when a cluster client has its slot map (rejects when ioredis
 * gives up connecting). Before that a command goes to an arbitrary seed
 * node's connection and, if that node never answers, waits there out of
 * reach of the failures ioredis reports for the cluster as a whole; ioredis
 * parks its own auto-pipelined commands the same way (`delayUntilReady`).
 */
export function clusterReady(client: Cluster): Promise<void> {
  const delay = (client as unknown as { delayUntilReady?: (cb: (err?: Error) => void) => void })
    .delayUntilReady;
  if (hasSlotMap(client) || typeof delay !== "function") return Promise.resolve();
  return new Promise((resolve, reject) =>
    delay.call(client, (err) => (err ? reject(err) : resolve())),
  );
}

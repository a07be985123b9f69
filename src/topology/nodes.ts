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
export function groupByNode<T extends { key: string }>(
  client: AnyClient,
  items: T[],
): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const node = nodeIdFor(client, item.key);
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

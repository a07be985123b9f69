import type { Cluster, Redis } from "ioredis";
import { missingReply } from "./errors.js";
import { keySlot } from "./slot.js";
import { type AnyClient, isClusterClient } from "./topology/manager.js";

/**
 * Keyspace walks. SCAN is per node, so on a cluster every master is walked
 * on its own connection (a SCAN sent through the Cluster client lands on
 * one arbitrary master, which is how connect-redis 8 miscounts). Bulk
 * commands go to the node that returned the keys, one command per slot.
 */

/** The connections to walk: every master of a cluster, else the client itself. */
export function scanTargets(client: AnyClient): Redis[] {
  return isClusterClient(client) ? (client as Cluster).nodes("master") : [client as Redis];
}

/** Yields batches of distinct keys matching `pattern` on one node. */
export async function* scanNode(
  node: Redis,
  pattern: string,
  count: number,
): AsyncGenerator<string[]> {
  const seen = new Set<string>();
  let cursor = "0";
  do {
    const [next, keys] = (await node.scan(cursor, "MATCH", pattern, "COUNT", count)) as [
      string,
      string[],
    ];
    cursor = next;
    const fresh: string[] = [];
    for (const key of keys) {
      // SCAN may return a key more than once while the table rehashes.
      if (!seen.has(key)) {
        seen.add(key);
        fresh.push(key);
      }
    }
    if (fresh.length > 0) yield fresh;
  } while (cursor !== "0");
}

/** Groups keys by hash slot so no command spans two slots. */
export function groupBySlot(keys: string[]): string[][] {
  const groups = new Map<number, string[]>();
  for (const key of keys) {
    const slot = keySlot(key);
    const group = groups.get(slot);
    if (group) group.push(key);
    else groups.set(slot, [key]);
  }
  return [...groups.values()];
}

/** Runs a per-node walk over every scan target, nodes in parallel. */
export async function forEachBatch(
  client: AnyClient,
  pattern: string,
  count: number,
  onBatch: (node: Redis, keys: string[]) => Promise<void> | void,
): Promise<void> {
  // Until a cluster client is ready its node list is the seed list, whose
  // connections are replaced once the slot map arrives. A queued PING
  // resolves when the client is ready.
  if (isClusterClient(client) && client.status !== "ready") await client.ping();
  await Promise.all(
    scanTargets(client).map(async (node) => {
      for await (const keys of scanNode(node, pattern, count)) await onBatch(node, keys);
    }),
  );
}

/**
 * Reads values of keys that one node returned. On a cluster, one MGET per
 * slot in a single pipeline; a key that moved meanwhile is read through the
 * cluster client, which follows the redirect.
 */
export async function readValues(
  client: AnyClient,
  node: Redis,
  keys: string[],
): Promise<Array<Buffer | null>> {
  if (!isClusterClient(client)) return (await node.mgetBuffer(...keys)) as Array<Buffer | null>;
  const groups = groupBySlot(keys);
  const pipeline = node.pipeline();
  for (const group of groups) pipeline.mgetBuffer(...group);
  const results = (await pipeline.exec()) ?? [];
  const byKey = new Map<string, Buffer | null>();
  for (let i = 0; i < groups.length; i++) {
    const group = groups[i]!;
    const [err, values] = results[i] ?? [missingReply(), null];
    if (err) {
      const values2 = await Promise.all(group.map((k) => (client as Cluster).getBuffer(k)));
      for (let j = 0; j < group.length; j++) byKey.set(group[j]!, values2[j] ?? null);
    } else {
      const got = values as Array<Buffer | null>;
      for (let j = 0; j < group.length; j++) byKey.set(group[j]!, got[j] ?? null);
    }
  }
  return keys.map((k) => byKey.get(k) ?? null);
}

/** Servers known to lack UNLINK (Redis < 4.0), by connection: they get DEL. */
const noUnlink = new WeakSet<Redis>();

/** Deletes keys one node returned: UNLINK (DEL on servers older than 4.0), one command per slot. */
export async function deleteKeys(client: AnyClient, node: Redis, keys: string[]): Promise<number> {
  const unlinkMissing = noUnlink.has(node);
  const command = unlinkMissing ? "del" : "unlink";
  const groups = isClusterClient(client) ? groupBySlot(keys) : [keys];
  const pipeline = node.pipeline();
  for (const group of groups) pipeline[command](...group);
  const results = (await pipeline.exec()) ?? [];
  let deleted = 0;
  for (let i = 0; i < groups.length; i++) {
    const [err, n] = results[i] ?? [missingReply(), 0];
    if (err) {
      if (!unlinkMissing && /unknown command/i.test(err.message)) {
        noUnlink.add(node);
        return deleteKeys(client, node, keys);
      }
      const group = groups[i]!;
      // Moved meanwhile: let the cluster client route each key.
      const counts = await Promise.all(
        group.map((k) => (client as Cluster)[unlinkMissing ? "del" : "unlink"](k)),
      );
      deleted += counts.reduce((a, b) => a + b, 0);
    } else {
      deleted += Number(n);
    }
  }
  return deleted;
}

import type { SessionData } from "express-session";
import type { Redis } from "ioredis";
import type { KeyScheme } from "./keys.js";
import { deleteKeys, forEachBatch, readValues } from "./scan.js";
import type { AnyClient } from "./topology/manager.js";

/**
 * The bulk operations, `length`, `ids`, `all` and `clear`: one walk over
 * every master of the keyspace under the prefix (see scan.ts), batch by
 * batch, so a large keyspace never becomes one giant command.
 */

export interface BulkContext {
  readonly keys: KeyScheme;
  readonly scanCount: number;
  readonly counters: { commands: number };
}

/** Calls `onBatch` with each SCAN batch's keys of this store (never another prefix's). */
async function walk<T>(
  client: AnyClient,
  ctx: BulkContext,
  onBatch: (node: Redis, keys: string[]) => Promise<T> | T,
): Promise<T[]> {
  const { keys, counters } = ctx;
  const results: T[] = [];
  await forEachBatch(client, keys.pattern, ctx.scanCount, async (node, batch) => {
    counters.commands++;
    // MATCH is a superset on a cluster (a tagged key's tail); keep only our keys.
    const mine = batch.filter((k) => keys.owns(k));
    if (mine.length > 0) results.push(await onBatch(node, mine));
  });
  return results;
}

export async function countSessions(client: AnyClient, ctx: BulkContext): Promise<number> {
  const counts = await walk(client, ctx, (_node, keys) => keys.length);
  return counts.reduce((a, b) => a + b, 0);
}

export async function listIds(client: AnyClient, ctx: BulkContext): Promise<string[]> {
  const parts = await walk(client, ctx, (_node, keys) => keys.map((k) => ctx.keys.sid(k)!));
  return parts.flat();
}

/**
 * Every stored session with its `id`. `decode` turns a stored value into a
 * session (or rejects with the coded error); a key that expired between the
 * SCAN and the read is left out.
 */
export async function readAll(
  client: AnyClient,
  ctx: BulkContext,
  decode: (sid: string, key: string, raw: Buffer) => SessionData | Promise<SessionData>,
): Promise<Array<SessionData & { id: string }>> {
  const parts = await walk(client, ctx, async (node, keys) => {
    const values = await readValues(client, node, keys);
    ctx.counters.commands++;
    const out: Array<SessionData & { id: string }> = [];
    for (let i = 0; i < keys.length; i++) {
      const raw = values[i];
      if (raw === null || raw === undefined) continue;
      const sid = ctx.keys.sid(keys[i]!)!;
      out.push(Object.assign(await decode(sid, keys[i]!, raw), { id: sid }));
    }
    return out;
  });
  return parts.flat();
}

/** Deletes every session; `onDeleted` hears each sid (to forget what the process knew of it). */
export async function clearAll(
  client: AnyClient,
  ctx: BulkContext,
  onDeleted: (sid: string) => void,
): Promise<void> {
  await walk(client, ctx, async (node, keys) => {
    ctx.counters.commands++;
    await deleteKeys(client, node, keys);
    for (const k of keys) onDeleted(ctx.keys.sid(k)!);
  });
}

import type { Cluster, Redis } from "ioredis";
import { expect } from "vitest";
import type { RedisStore } from "../../src/index.js";

/**
 * Prefixes whose glob characters would widen SCAN MATCH if the store did not
 * escape them, each with keys outside the prefix that the unescaped pattern
 * (`prefix*`, or `prefix{*}` on a cluster) would catch.
 */
const GLOB_PREFIXES: Array<{ prefix: string; lookalikes: string[] }> = [
  { prefix: "s?:", lookalikes: ["sx:1", "sx:{1}", "s::1"] },
  { prefix: "a*", lookalikes: ["a", "ab:1", "ab:{1}"] },
  { prefix: "[ab]:", lookalikes: ["a:1", "b:{1}", "[ab]1"] },
];

/** Keys no store prefix covers: another prefix, and the prefix inside a key rather than at its start. */
function outsiders(prefix: string): string[] {
  return [`other:${prefix}1`, `x${prefix}1`, `x${prefix}{1}`, `{${prefix}}1`, "sess:1"];
}

const session = { cookie: { originalMaxAge: 60_000 } } as never;
// Enough sessions to land on every master of a 3-master cluster.
const SIDS = Array.from({ length: 24 }, (_, i) => `sid${i}`);

/**
 * For each glob prefix: a store writes a few dozen sessions, someone else writes
 * keys outside its prefix, and `length`/`ids` count only the store's while
 * `clear()` removes only the store's. `admin` is a raw client (a Cluster on a
 * cluster) with the credentials the topology wants.
 */
export async function expectClearStaysInPrefix(
  makeStore: (prefix: string) => RedisStore,
  admin: Redis | Cluster,
): Promise<void> {
  for (const { prefix, lookalikes } of GLOB_PREFIXES) {
    const foreign = [...lookalikes, ...outsiders(prefix)];
    const store = makeStore(prefix);
    try {
      // One key at a time: on a cluster these live in different slots.
      for (const key of foreign) await admin.set(key, "not a session");
      await Promise.all(SIDS.map((sid) => store.set(sid, session)));

      expect(await store.length(), `length() under "${prefix}"`).toBe(SIDS.length);
      expect((await store.ids()).sort(), `ids() under "${prefix}"`).toEqual([...SIDS].sort());
      await store.clear();
      expect(await store.length(), `length() after clear() under "${prefix}"`).toBe(0);
      const survivors: string[] = [];
      for (const key of foreign) if ((await admin.exists(key)) === 1) survivors.push(key);
      expect(survivors, `keys outside "${prefix}" after its clear()`).toEqual(foreign);
    } finally {
      for (const key of foreign) await admin.del(key);
      await store.close();
    }
  }
}

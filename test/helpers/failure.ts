import type { RedisStore } from "../../src/index.js";

/** The first operation's error and how long it took to arrive (an Error if it succeeded). */
export async function firstFailure(store: RedisStore): Promise<{ err: unknown; ms: number }> {
  const started = Date.now();
  const err = await store.get("a").then(
    () => new Error("expected the operation to fail"),
    (e: unknown) => e,
  );
  return { err, ms: Date.now() - started };
}

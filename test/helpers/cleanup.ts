/**
 * Per-test cleanup of what a test created: stores are cleared (their keys
 * removed) and closed, raw clients disconnected, after every test.
 */
import { afterEach } from "vitest";
import type { RedisStore } from "../../src/index.js";

export interface Tracked {
  /** Registers a store for clear() + close() after the test; returns it. */
  store<S extends RedisStore>(store: S): S;
  /** Registers a raw client for disconnect() after the test; returns it. */
  client<C extends { disconnect(): void }>(client: C): C;
}

export function trackPerTest(): Tracked {
  const stores: RedisStore[] = [];
  const clients: Array<{ disconnect(): void }> = [];
  afterEach(async () => {
    for (const s of stores.splice(0)) {
      await s.clear().catch(() => {});
      await s.close();
    }
    for (const c of clients.splice(0)) c.disconnect();
  });
  return {
    store(store) {
      stores.push(store);
      return store;
    },
    client(client) {
      clients.push(client);
      return client;
    },
  };
}

import type { RedisStore } from "../../src/index.js";

/**
 * Resolves with the next `event`, or fails after `ms` saying what did not
 * happen. (events.once would reject on the "error" events a downed Redis causes.)
 */
export function nextEvent(store: RedisStore, event: string, ms: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      store.off(event, onEvent);
      reject(new Error(`store emitted no "${event}" within ${ms} ms`));
    }, ms);
    const onEvent = () => {
      clearTimeout(timer);
      resolve();
    };
    store.once(event, onEvent);
  });
}

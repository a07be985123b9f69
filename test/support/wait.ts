import { setTimeout as delay } from "node:timers/promises";

export interface WaitOptions {
  /** @default 15000 */
  timeoutMs?: number;
  /** @default 25 */
  intervalMs?: number;
}

/**
 * Polls `probe` until it returns something other than `undefined`/`false`.
 * The probe reports what it saw through `note`, so a timeout can say how far
 * the servers got instead of only that they did not get there.
 */
export async function waitFor<T>(
  what: string,
  probe: (note: (state: string) => void) => Promise<T | undefined | false>,
  { timeoutMs = 15_000, intervalMs = 25 }: WaitOptions = {},
): Promise<T> {
  const started = Date.now();
  let lastState = "";
  let lastError: unknown;
  const note = (state: string) => {
    lastState = state;
  };
  for (;;) {
    try {
      const value = await probe(note);
      if (value !== undefined && value !== false) return value;
      lastError = undefined;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() - started >= timeoutMs) {
      const details = [
        lastState && `last state: ${lastState}`,
        lastError !== undefined && `last error: ${(lastError as Error).message ?? lastError}`,
      ].filter(Boolean);
      throw new Error(
        `Timed out after ${timeoutMs} ms waiting for ${what}${details.length ? ` (${details.join("; ")})` : ""}`,
      );
    }
    await delay(intervalMs);
  }
}

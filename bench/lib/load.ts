import { type LatencySummary, summarize } from "./stats.js";

export interface LoadResult extends LatencySummary {
  ops: number;
  elapsedMs: number;
  opsPerSec: number;
  /** CPU time (user + system) of this process per operation, in microseconds: the client-side cost, steadier than ops/s on a busy box. */
  cpuMicrosPerOp: number;
  /** The first error an operation raised; the run stops at it. */
  error?: string;
}

// One buffer for every run: 4M latencies cover 2 s at 2M ops/s.
let samples = new Float64Array(1 << 22);

/**
 * Closed-loop load: `concurrency` workers each await one operation at a time
 * until `durationMs` has passed (and at most `maxOps` operations in total).
 * Operation `i` gets a distinct, increasing index.
 */
export async function closedLoop(
  op: (i: number) => Promise<unknown>,
  {
    concurrency,
    durationMs,
    maxOps = 5_000_000,
  }: { concurrency: number; durationMs: number; maxOps?: number },
): Promise<LoadResult> {
  let next = 0;
  let done = 0;
  let stop = false;
  let error: unknown;
  const cpuBefore = process.cpuUsage();
  const start = performance.now();
  const deadline = start + durationMs;

  const worker = async () => {
    while (!stop) {
      const i = next++;
      if (i >= maxOps) break;
      const t0 = performance.now();
      try {
        await op(i);
      } catch (err) {
        error ??= err;
        stop = true;
        break;
      }
      const t1 = performance.now();
      if (done === samples.length) {
        const bigger = new Float64Array(samples.length * 2);
        bigger.set(samples);
        samples = bigger;
      }
      samples[done++] = t1 - t0;
      if (t1 >= deadline) stop = true;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const elapsedMs = performance.now() - start;
  const cpu = process.cpuUsage(cpuBefore);
  const result: LoadResult = {
    ops: done,
    elapsedMs,
    opsPerSec: (done / elapsedMs) * 1000,
    cpuMicrosPerOp: (cpu.user + cpu.system) / Math.max(1, done),
    ...summarize(samples, done),
  };
  if (error !== undefined) result.error = errorText(error);
  return result;
}

export function errorText(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  return message.split("\n")[0]!.slice(0, 80);
}

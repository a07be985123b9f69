/**
 * Knobs shared by the scenarios, from the environment so that one command
 * (`npm run bench`) stays the source of truth and a quick look is still one
 * variable away: `BENCH_ROUNDS=1 BENCH_SCALE=0.3 node --import tsx bench/store-ops.ts`.
 */

function numberFromEnv(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0) {
    throw new TypeError(`Expected \`${name}\` to be a positive number, got \`${raw}\``);
  }
  return n;
}

/** Interleaved rounds per scenario (medians are taken over them). */
export function rounds(fallback: number): number {
  return Math.max(1, Math.round(numberFromEnv("BENCH_ROUNDS", fallback)));
}

/** Multiplies every measured duration; below 1 for a smoke run. */
export function scaled(ms: number): number {
  return Math.max(50, Math.round(ms * numberFromEnv("BENCH_SCALE", 1)));
}

/** Comma-separated subset of a scenario's parts, e.g. `BENCH_ONLY=standalone`. */
export function only(part: string): boolean {
  const raw = process.env.BENCH_ONLY;
  if (!raw) return true;
  return raw.split(",").some((p) => p.trim() === part);
}

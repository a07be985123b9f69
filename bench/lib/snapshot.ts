import { cpSync, readdirSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { RESULTS_DIR } from "./report.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const DIST = join(ROOT, "dist/esm");
export const BUILT = join(DIST, "index.js");

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(
      newest,
      entry.isDirectory()
        ? newestMtime(path)
        : (statSync(path, { throwIfNoEntry: false })?.mtimeMs ?? 0),
    );
  }
  return newest;
}

/** Throws when dist/esm is missing; warns when src/ changed after the last build. */
export function checkBuild(): void {
  const builtAt = statSync(BUILT, { throwIfNoEntry: false })?.mtimeMs;
  if (builtAt === undefined) {
    throw new Error("dist/esm/index.js is missing: run `npm run build` (npm run bench does it)");
  }
  if (newestMtime(join(ROOT, "src")) > builtAt) {
    console.warn(
      "warning: src/ is newer than dist/; run `npm run build` to bench the current code",
    );
  }
}

/**
 * Points BENCH_STORE_MODULE at a private copy of dist/esm (unless it is
 * already set), so lib/subject.ts loads the copy: a concurrent `npm run build`
 * (tests, another terminal) empties dist/ and would break a run half-way.
 * Each caller names its own copy, so a profile and a bench can run at once.
 * Call it before lib/subject.ts is imported.
 */
export function useDistSnapshot(name: string): void {
  if (process.env.BENCH_STORE_MODULE) return;
  checkBuild();
  const copy = join(RESULTS_DIR, name);
  rmSync(copy, { recursive: true, force: true });
  cpSync(DIST, copy, { recursive: true });
  process.env.BENCH_STORE_MODULE = join(copy, "index.js");
  process.env.BENCH_STORE_LABEL = "dist/esm/index.js (copied at start)";
}

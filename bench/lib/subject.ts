import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import type * as Api from "../../src/index.js";

/**
 * The store under test is the built package (`dist/esm/index.js`), what users
 * install; `npm run bench` builds it first. `BENCH_STORE_MODULE` points at
 * another build (or `src/index.ts` under tsx) for A/B runs.
 */
const root = fileURLToPath(new URL("../../", import.meta.url));
const built = join(root, "dist/esm/index.js");
const target = process.env.BENCH_STORE_MODULE ?? built;

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

// Forked helpers (the e2e app) skip the check their parent already made.
if (target === built && !process.env.BENCH_BUILD_CHECKED) {
  process.env.BENCH_BUILD_CHECKED = "1";
  const builtAt = statSync(built, { throwIfNoEntry: false })?.mtimeMs;
  if (builtAt === undefined) {
    throw new Error("dist/esm/index.js is missing: run `npm run build` (npm run bench does it)");
  }
  if (newestMtime(join(root, "src")) > builtAt) {
    console.warn(
      "warning: src/ is newer than dist/; run `npm run build` to bench the current code",
    );
  }
}

export const ha = (await import(pathToFileURL(target).href)) as typeof Api;
export const subjectModule =
  process.env.BENCH_STORE_LABEL ?? (target === built ? "dist/esm/index.js" : target);

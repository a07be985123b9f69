import { pathToFileURL } from "node:url";
import type * as Api from "../../src/index.js";
import { BUILT, checkBuild } from "./snapshot.js";

/**
 * The store under test is the built package (`dist/esm/index.js`), what users
 * install; `npm run bench` builds it first. `BENCH_STORE_MODULE` points at
 * another build (or `src/index.ts` under tsx) for A/B runs.
 */
const target = process.env.BENCH_STORE_MODULE ?? BUILT;

// Forked helpers (the e2e app) skip the check their parent already made.
if (target === BUILT && !process.env.BENCH_BUILD_CHECKED) {
  process.env.BENCH_BUILD_CHECKED = "1";
  checkBuild();
}

export const ha = (await import(pathToFileURL(target).href)) as typeof Api;
export const subjectModule =
  process.env.BENCH_STORE_LABEL ?? (target === BUILT ? "dist/esm/index.js" : target);

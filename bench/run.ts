/**
 * Runs every scenario, each in a process of its own (a fresh heap and JIT,
 * its own Redis servers), then prints the targets of all of them together.
 * `npm run bench` builds the package first, so the scenarios measure
 * dist/esm/index.js, what users install.
 *
 *   npm run bench                     every scenario
 *   npm run bench -- e2e bulk         some of them
 *   npm run bench -- --readme         also rewrite the result tables in bench/README.md
 */
import { spawnSync } from "node:child_process";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { machineLine } from "./lib/machine.js";
import { RESULTS_DIR, readResults, renderTable, renderTargets, SCENARIOS } from "./lib/report.js";
import { useDistSnapshot } from "./lib/snapshot.js";
import { updateReadme } from "./readme.js";

const args = process.argv.slice(2);
const writeReadme = args.includes("--readme");
const asked = args.filter((a) => !a.startsWith("--"));
for (const name of asked) {
  if (!(SCENARIOS as readonly string[]).includes(name)) {
    console.error(`Unknown scenario \`${name}\`; expected one of ${SCENARIOS.join(", ")}`);
    process.exit(2);
  }
}
const chosen = asked.length > 0 ? SCENARIOS.filter((s) => asked.includes(s)) : [...SCENARIOS];

const here = fileURLToPath(new URL(".", import.meta.url));

// The scenarios load a private copy of the build (see lib/snapshot.ts).
try {
  useDistSnapshot("store-under-test");
} catch (err) {
  console.error((err as Error).message);
  process.exit(1);
}
const started = Date.now();
const timings: string[][] = [];
let failed = false;

// The ctrl-C reaches the scenario too (same process group); it cleans up and exits.
process.on("SIGINT", () => {});

for (const name of chosen) {
  rmSync(join(RESULTS_DIR, `${name}.json`), { force: true });
  const t0 = Date.now();
  const child = spawnSync(process.execPath, ["--import", "tsx", join(here, `${name}.ts`)], {
    stdio: "inherit",
  });
  const seconds = (Date.now() - t0) / 1000;
  const ok = child.status === 0;
  failed ||= !ok;
  timings.push([
    name,
    `${seconds.toFixed(0)} s`,
    ok ? "ok" : `failed (${child.status ?? child.signal})`,
  ]);
  if (child.signal === "SIGINT" || child.status === 130) break;
}

const results = readResults().filter((r) => (chosen as string[]).includes(r.scenario));

console.log("\n## Summary\n");
const machine = results[0]?.machine;
if (machine) console.log(`Machine: ${machineLine(machine)}\n`);
console.log(renderTable(["scenario", "time", "status"], timings, ["l", "r", "l"]));
console.log(`\nTotal: ${((Date.now() - started) / 1000).toFixed(0)} s`);

const targets = results.flatMap((r) => r.targets);
if (targets.length > 0) {
  console.log("\n### Targets\n");
  console.log(renderTargets(targets));
}

if (writeReadme) {
  // Every scenario on disk, so a partial run keeps the other blocks and targets.
  const file = updateReadme(readResults());
  console.log(`\nUpdated ${file}`);
}
if (failed) process.exitCode = 1;

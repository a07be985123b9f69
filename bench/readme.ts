/**
 * Rewrites the result blocks of bench/README.md from bench/.results/*.json,
 * so the README quotes exactly what a run printed. A block sits between
 * `<!-- bench:KEY -->` and `<!-- /bench:KEY -->`; KEY is `machine`, `targets`
 * or `<scenario>/<table>` (e.g. `store-ops/standalone`).
 *
 *   node --import tsx bench/readme.ts      (npm run bench -- --readme calls it)
 */
import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath, pathToFileURL } from "node:url";
import { machineLine } from "./lib/machine.js";
import { readResults, renderTargets, type ScenarioResults } from "./lib/report.js";

const README = fileURLToPath(new URL("./README.md", import.meta.url));

export function updateReadme(results: ScenarioResults[]): string {
  const blocks = new Map<string, string>();
  for (const r of results) {
    for (const [name, table] of Object.entries(r.tables)) {
      blocks.set(
        `${r.scenario}/${name}`,
        `${table}\n\n_${machineLine(r.machine)}; ${r.finishedAt.slice(0, 10)}._`,
      );
    }
  }
  const first = results[0];
  if (first) blocks.set("machine", machineLine(first.machine));
  const targets = results.flatMap((r) => r.targets);
  if (targets.length > 0) blocks.set("targets", renderTargets(targets));

  let text = readFileSync(README, "utf8");
  for (const [key, body] of blocks) {
    const open = `<!-- bench:${key} -->`;
    const close = `<!-- /bench:${key} -->`;
    const start = text.indexOf(open);
    const end = text.indexOf(close);
    if (start === -1 || end < start) continue;
    text = `${text.slice(0, start + open.length)}\n${body}\n${text.slice(end)}`;
  }
  writeFileSync(README, text);
  return README;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  console.log(`Updated ${updateReadme(readResults())}`);
}

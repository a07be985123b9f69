import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { type Machine, machineLine } from "./machine.js";

/**
 * The shared reporter: a machine header, Markdown tables (so a run can be
 * pasted into bench/README.md as it is), targets, and a JSON copy of every
 * result under bench/.results/.
 */

export const RESULTS_DIR = fileURLToPath(new URL("../.results/", import.meta.url));

export type Align = "l" | "r";

export function renderTable(header: string[], rows: string[][], align: Align[] = []): string {
  const stray = rows.find((r) => r.length !== header.length);
  if (stray) throw new Error(`A row has ${stray.length} cells for ${header.length} columns`);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const pad = (text: string, i: number) =>
    align[i] === "r" ? text.padStart(widths[i]!) : text.padEnd(widths[i]!);
  const line = (cells: string[]) => `| ${cells.map((c, i) => pad(c, i)).join(" | ")} |`;
  const rule = `|${widths.map((w, i) => (align[i] === "r" ? `${"-".repeat(w + 1)}:` : "-".repeat(w + 2))).join("|")}|`;
  return [line(header), rule, ...rows.map((r) => line(header.map((_, i) => r[i] ?? "")))].join(
    "\n",
  );
}

const group = (n: number) => Math.round(n).toLocaleString("en-US");

export const fmt = {
  /** Operations (or requests) per second. */
  rate: (n: number | undefined) => (n === undefined || Number.isNaN(n) ? "-" : group(n)),
  /** Milliseconds with a precision that suits the magnitude. */
  ms: (n: number | undefined) => {
    if (n === undefined || Number.isNaN(n)) return "-";
    if (n >= 100) return n.toFixed(0);
    if (n >= 10) return n.toFixed(1);
    return n.toFixed(2);
  },
  /** Microseconds. */
  us: (n: number | undefined) => {
    if (n === undefined || Number.isNaN(n)) return "-";
    return n >= 100 ? n.toFixed(0) : n >= 10 ? n.toFixed(1) : n.toFixed(2);
  },
  ratio: (n: number | undefined) =>
    n === undefined || Number.isNaN(n) ? "-" : `${n >= 10 ? n.toFixed(1) : n.toFixed(2)}x`,
  bytes: (n: number) => group(n),
  count: (n: number) => group(n),
};

export function printHeader(title: string, machine: Machine, notes: string[] = []): void {
  console.log(`\n## ${title}\n`);
  console.log(`Machine: ${machineLine(machine)}`);
  for (const note of notes) console.log(note);
  console.log("");
}

/** A goal from the issue, judged against a measured value. */
export interface Target {
  scenario: string;
  what: string;
  actual: number | undefined;
  goal: number;
  /** `atLeast`: actual >= goal passes; `atMost`: actual <= goal passes. */
  kind: "atLeast" | "atMost";
  unit: string;
}

export interface Verdict {
  pass: boolean;
  /** Headroom when positive, shortfall when negative, as a fraction of the goal. */
  margin: number;
}

export function judge(t: Target): Verdict {
  if (t.actual === undefined || Number.isNaN(t.actual)) return { pass: false, margin: Number.NaN };
  const margin = t.kind === "atLeast" ? (t.actual - t.goal) / t.goal : (t.goal - t.actual) / t.goal;
  return { pass: margin >= 0, margin };
}

function value(n: number | undefined, unit: string): string {
  if (n === undefined || Number.isNaN(n)) return "n/a";
  return unit === "x" ? fmt.ratio(n) : `${n.toFixed(2)}${unit ? ` ${unit}` : ""}`;
}

export function renderTargets(targets: Target[]): string {
  const rows = targets.map((t) => {
    const v = judge(t);
    const verdict = Number.isNaN(v.margin)
      ? "MISS (not measured)"
      : v.pass
        ? `pass (${(v.margin * 100).toFixed(0)}% headroom)`
        : `MISS (short by ${(-v.margin * 100).toFixed(0)}%)`;
    const goal = `${t.kind === "atLeast" ? ">=" : "<="} ${value(t.goal, t.unit)}`;
    return [t.scenario, t.what, value(t.actual, t.unit), goal, verdict];
  });
  return renderTable(["scenario", "target", "measured", "goal", "verdict"], rows);
}

export function printTargets(targets: Target[]): void {
  if (targets.length === 0) return;
  console.log("\n### Targets\n");
  console.log(renderTargets(targets));
}

export interface ScenarioResults {
  scenario: string;
  finishedAt: string;
  durationSec: number;
  machine: Machine;
  settings: Record<string, unknown>;
  tables: Record<string, string>;
  rows: unknown[];
  targets: Target[];
  /** Scenario-specific figures beyond the rows. */
  extra?: Record<string, unknown>;
}

export function writeResults(results: ScenarioResults): string {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const file = join(RESULTS_DIR, `${results.scenario}.json`);
  writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
  return file;
}

/** Every scenario, in the order `npm run bench` runs them. */
export const SCENARIOS = ["store-ops", "e2e", "serializers", "bulk", "index-cost"] as const;

/** The results on disk, in scenario order. */
export function readResults(): ScenarioResults[] {
  let names: string[];
  try {
    names = readdirSync(RESULTS_DIR).filter((n) => n.endsWith(".json"));
  } catch {
    return [];
  }
  const order = (name: string) => SCENARIOS.indexOf(name as (typeof SCENARIOS)[number]);
  return names
    .map((n) => JSON.parse(readFileSync(join(RESULTS_DIR, n), "utf8")) as ScenarioResults)
    .filter((r) => order(r.scenario) !== -1)
    .sort((a, b) => order(a.scenario) - order(b.scenario));
}

/** A one-line progress note on a terminal; nothing when the output is captured. */
export function progress(text: string): void {
  if (process.stderr.isTTY) process.stderr.write(`\r${text}\x1b[K`);
}

export function progressDone(): void {
  if (process.stderr.isTTY) process.stderr.write("\r\x1b[K");
}

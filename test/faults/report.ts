/** Collects one row per scenario run and prints them as a table at the end of a file. */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { firstSuccessAfter, type Load } from "./load.js";

export interface ScenarioRow {
  topology: string;
  scenario: string;
  load: string;
  durability: string;
  attempted: number;
  failed: number;
  longestStallMs: number;
  firstSuccessAfterFaultMs: number | undefined;
  lost: number;
  errors: string;
}

export class Report {
  readonly rows: ScenarioRow[] = [];
  constructor(private readonly name: string) {}

  async add(
    base: { topology: string; scenario: string; load: string; durability: string },
    load: Pick<Load, "stats">,
    faultAt: number,
    lost: number,
  ): Promise<ScenarioRow> {
    const s = load.stats;
    const row: ScenarioRow = {
      ...base,
      attempted: s.attempted,
      failed: s.failed,
      longestStallMs: s.longestStallMs,
      firstSuccessAfterFaultMs: firstSuccessAfter(s, faultAt),
      lost,
      errors: Object.entries(s.errors)
        .map(([k, v]) => `${k}:${v}`)
        .join(" "),
    };
    this.rows.push(row);
    if (s.failed > 0)
      console.log(`${base.scenario} / ${base.load} / ${base.durability}:`, s.samples);
    return row;
  }

  /** One row per load of a scenario run: `[load, durability, the load, sessions lost]`. */
  async addRuns(
    topology: string,
    scenario: string,
    faultAt: number,
    runs: Array<[load: string, durability: string, stats: Load, lost: number]>,
  ): Promise<void> {
    for (const [load, durability, stats, lost] of runs) {
      await this.add({ topology, scenario, load, durability }, stats, faultAt, lost);
    }
  }

  /** Prints the table and writes it as JSON under .tmp/reliability/. */
  flush(): void {
    if (this.rows.length === 0) return;
    const header = [
      "topology",
      "scenario",
      "load",
      "durability",
      "attempted",
      "failed",
      "stall ms",
      "1st ok ms",
      "lost",
      "errors",
    ];
    const lines = this.rows.map((r) => [
      r.topology,
      r.scenario,
      r.load,
      r.durability,
      String(r.attempted),
      String(r.failed),
      String(r.longestStallMs),
      r.firstSuccessAfterFaultMs === undefined ? "-" : String(r.firstSuccessAfterFaultMs),
      String(r.lost),
      r.errors,
    ]);
    const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
    const fmt = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(" | ")} |`;
    const out = [fmt(header), fmt(widths.map((w) => "-".repeat(w))), ...lines.map(fmt)].join("\n");
    console.log(`\n${this.name}\n${out}\n`);
    const dir = join(process.cwd(), ".tmp", "reliability");
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, `${this.name}.json`), JSON.stringify(this.rows, null, 2));
  }
}

/**
 * How many times each loss scenario runs: FAILOVER_REPETITIONS, else 3 in CI
 * (CI set, as CI services do) and 1 locally.
 */
export const REPETITIONS = Math.max(
  1,
  Number(process.env.FAILOVER_REPETITIONS ?? (process.env.CI ? 3 : 1)),
);

/**
 * Scenario 5, the per-user index and stats(): what `indexBy` adds to `set`,
 * and what the always-on counters behind `store.stats()` cost.
 *
 * `set` at concurrency 100 on a standalone node and on the cluster, the same
 * store with and without `indexBy` (100 users), interleaved rounds, medians,
 * for two workloads: sets of 2000 existing sessions (a sid the store indexed
 * before: SET ... XX alone) and sets of a new sid each time (a login: the
 * SET plus this turn's batched index call). The counters cannot be switched off, so their cost is
 * measured directly: the increments one `set` performs, and one `stats()`
 * call, timed in a tight loop, against the client CPU one `set` costs.
 *
 *   node --import tsx bench/index-cost.ts
 */
import type { SessionData } from "express-session";
import { closedLoop, type LoadResult } from "./lib/load.js";
import { describeMachine, type Machine } from "./lib/machine.js";
import {
  type Align,
  fmt,
  printHeader,
  printTargets,
  progress,
  progressDone,
  renderTable,
  type Target,
  writeResults,
} from "./lib/report.js";
import { cluster, release, runMain, standalone } from "./lib/resources.js";
import { typicalSession } from "./lib/sessions.js";
import { rounds as roundsSetting, scaled } from "./lib/settings.js";
import { median, rotate } from "./lib/stats.js";
import { ha, subjectModule } from "./lib/subject.js";

const ROUNDS = roundsSetting(3);
const CELL_MS = scaled(400);
const CONCURRENCY = 100;
const POOL = 2000;
const USERS = 100;

interface Variant {
  id: "plain" | "indexed";
  label: string;
  store: InstanceType<typeof ha.RedisStore>;
}

function sessionFor(i: number): SessionData {
  return { ...typicalSession(i), user: `user-${i % USERS}` } as SessionData;
}

type Workload = "repeat" | "new";
const sessions = Array.from({ length: POOL }, (_, i) => sessionFor(i));
let freshRun = 0;

/**
 * "repeat": sets of a pool of existing sessions, what express-session does on
 * every request that changes one. "new": every set is a sid never seen
 * before, as at login, so the index is written every time.
 */
async function measureSet(v: Variant, workload: Workload, durationMs: number): Promise<LoadResult> {
  const run = freshRun++;
  const sid = workload === "repeat" ? (i: number) => `s${i % POOL}` : (i: number) => `n${run}-${i}`;
  return closedLoop((i) => v.store.set(sid(i), sessions[i % POOL]!), {
    concurrency: CONCURRENCY,
    durationMs,
  });
}

/** Nanoseconds per call of `fn`, over enough calls to dwarf the timer. */
function nanosPerCall(fn: () => void, calls = 2_000_000): number {
  for (let i = 0; i < 10_000; i++) fn();
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < calls; i++) fn();
  return Number(process.hrtime.bigint() - t0) / calls;
}

interface Row {
  topology: string;
  workload: Workload;
  variant: string;
  opsPerSec: number;
  p50: number;
  p99: number;
  cpuMicrosPerOp: number;
  costVsPlain: number | undefined;
}

async function runTopology(kind: "standalone" | "cluster", url: string): Promise<Row[]> {
  const variants: Variant[] = [
    { id: "plain", label: "set", store: new ha.RedisStore({ url, prefix: "plain:" }) },
    {
      id: "indexed",
      label: "set with indexBy",
      store: new ha.RedisStore({
        url,
        prefix: "indexed:",
        indexBy: (s: { user?: string }) => s.user,
      }),
    },
  ];
  const rows: Row[] = [];
  for (const workload of ["repeat", "new"] as const) {
    for (const v of variants) await measureSet(v, workload, scaled(200)); // warm-up, populate
    const results: Record<string, LoadResult[]> = { plain: [], indexed: [] };
    for (let round = 0; round < ROUNDS; round++) {
      progress(`  ${kind}, ${workload} sessions: round ${round + 1}/${ROUNDS}`);
      for (const v of rotate(variants, round)) {
        results[v.id]!.push(await measureSet(v, workload, CELL_MS));
      }
    }
    progressDone();
    // Cost = time per set with the index over time per set without, paired by round.
    const cost = median(results.indexed!.map((r, i) => results.plain![i]!.opsPerSec / r.opsPerSec));
    for (const v of variants) {
      const rs = results[v.id]!;
      rows.push({
        topology: kind,
        workload,
        variant: v.label,
        opsPerSec: median(rs.map((r) => r.opsPerSec)),
        p50: median(rs.map((r) => r.p50)),
        p99: median(rs.map((r) => r.p99)),
        cpuMicrosPerOp: median(rs.map((r) => r.cpuMicrosPerOp)),
        costVsPlain: v.id === "indexed" ? cost : 1,
      });
    }
  }
  for (const v of variants) {
    await v.store.clear();
    await v.store.close();
  }
  return rows;
}

function render(rows: Row[]): string {
  const align: Align[] = ["l", "l", "l", "r", "r", "r", "r", "r"];
  return renderTable(
    [
      "topology",
      "sessions",
      "operation (c=100)",
      "ops/s",
      "p50 ms",
      "p99 ms",
      "client CPU µs/op",
      "time per set vs plain",
    ],
    rows.map((r) => [
      r.topology,
      r.workload === "repeat" ? "existing" : "new sid each",
      r.variant,
      fmt.rate(r.opsPerSec),
      fmt.ms(r.p50),
      fmt.ms(r.p99),
      fmt.us(r.cpuMicrosPerOp),
      fmt.ratio(r.costVsPlain),
    ]),
    align,
  );
}

async function main(): Promise<void> {
  const started = Date.now();
  let machine: Machine | undefined;
  const rows: Row[] = [];
  const notes = [
    `Store under test: ${subjectModule}. ${ROUNDS} interleaved rounds of ${CELL_MS} ms per variant; medians.`,
    `"existing": ${POOL} sessions of ${USERS} users set again and again; "new sid each": every set a session never stored before (a login). "time per set vs plain" is the median per-round ratio of ops/s (plain / indexed).`,
  ];
  for (const kind of ["standalone", "cluster"] as const) {
    const topo = kind === "standalone" ? await standalone() : await cluster();
    const first = topo.kind === "standalone" ? topo.node : topo.nodes[0]!;
    machine ??= await describeMachine(first);
    if (kind === "standalone") printHeader("Per-user index: cost of set", machine, notes);
    rows.push(...(await runTopology(kind, topo.url)));
    await release(topo);
  }
  const tables: Record<string, string> = { index: render(rows) };
  console.log(tables.index);

  // The counters: a set bumps at most three of them; stats() copies them out.
  const counters = { commands: 0, pipelines: 0, coalesced: 0, skipped: 0, errors: {} };
  const probe = new ha.RedisStore({ url: "redis://127.0.0.1:1", topology: "standalone" });
  probe.on("error", () => {});
  const incrementNs = nanosPerCall(() => {
    counters.commands++;
    counters.pipelines++;
    counters.coalesced++;
  });
  const statsNs = nanosPerCall(() => {
    probe.stats();
  }, 500_000);
  await probe.close();
  const setCpu = rows.find(
    (r) => r.topology === "standalone" && r.workload === "repeat" && r.variant === "set",
  )!.cpuMicrosPerOp;
  const share = incrementNs / 1000 / setCpu;
  tables.stats = renderTable(
    ["what", "cost", "vs client CPU of one set"],
    [
      [
        "the counter increments of one operation (3)",
        `${incrementNs.toFixed(1)} ns`,
        `${(share * 100).toFixed(3)}%`,
      ],
      [
        "one stats() call",
        `${statsNs.toFixed(0)} ns`,
        `${((statsNs / 1000 / setCpu) * 100).toFixed(2)}%`,
      ],
    ],
    ["l", "r", "r"],
  );
  console.log("\n### stats() counters\n");
  console.log(tables.stats);

  const targets: Target[] = [];
  for (const topology of ["standalone", "cluster"]) {
    for (const workload of ["repeat", "new"] as const) {
      targets.push({
        scenario: "index",
        what: `set with indexBy vs without, ${topology}, ${workload === "repeat" ? "existing sessions" : "new sid each set"}, c=100 (time per set)`,
        actual: rows.find(
          (r) =>
            r.topology === topology && r.workload === workload && r.variant === "set with indexBy",
        )?.costVsPlain,
        goal: 1.3,
        kind: "atMost",
        unit: "x",
      });
    }
  }
  printTargets(targets);
  if (machine) {
    writeResults({
      scenario: "index-cost",
      finishedAt: new Date().toISOString(),
      durationSec: (Date.now() - started) / 1000,
      machine,
      settings: { rounds: ROUNDS, cellMs: CELL_MS, pool: POOL, users: USERS, notes },
      tables,
      rows,
      targets,
      extra: { incrementNs, statsNs },
    });
  }
}

await runMain(main);

/**
 * Scenario 1, store operations: get, set and touch at concurrency 1 and 100,
 * on a standalone node and on a 3-master cluster.
 *
 * Compared: this store (default msgpack, and JSON), connect-redis 8.1 on
 * ioredis (default client, and with auto-pipelining), connect-redis 10 on
 * node-redis, and raw ioredis sending what the stores send (`SET key json EX
 * ttl`, `GET` + `JSON.parse`, `EXPIRE key ttl`) with and without
 * auto-pipelining: the ceiling. Rounds interleave the implementations
 * (rotating their order); the table quotes medians over rounds, and each
 * ratio is the median of the per-round ratios.
 *
 *   node --import tsx bench/store-ops.ts        (BENCH_ONLY=standalone|cluster)
 */
import { RedisStore as ConnectRedis10 } from "connect-redis";
import { RedisStore as ConnectRedis81 } from "connect-redis-81";
import type { SessionData } from "express-session";
import { Cluster, Redis } from "ioredis";
import { createClient, createCluster } from "redis";
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
import { cluster, release, runMain, standalone, track } from "./lib/resources.js";
import { typicalSession } from "./lib/sessions.js";
import { only, rounds as roundsSetting, scaled } from "./lib/settings.js";
import { median, rotate } from "./lib/stats.js";
import { ha, subjectModule } from "./lib/subject.js";

type Op = "get" | "set" | "touch";
type TopologyName = "standalone" | "cluster";

const OPS: Op[] = ["get", "set", "touch"];
const CONCURRENCY = [1, 100];
/** Rounds per topology: the targets are judged on standalone, so it gets more. */
const ROUNDS: Record<TopologyName, number> = {
  standalone: roundsSetting(7),
  cluster: roundsSetting(3),
};
/** Milliseconds per cell by concurrency: c=100 is where the targets are and the spread is widest. */
const CELL_MS: Record<number, number> = { 1: scaled(200), 100: scaled(400) };
const WARMUP_MS = scaled(100);
/** Distinct sessions each implementation cycles through. */
const POOL = 2000;

const BASELINE = "cr81";
const CEILING = "raw-ap";

interface Subject {
  id: string;
  label: string;
  /** Operations this row is measured on (default: all). */
  ops?: Op[];
  get(sid: string): Promise<unknown>;
  set(sid: string, sess: SessionData): Promise<unknown>;
  touch(sid: string, sess: SessionData): Promise<unknown>;
  stop(): Promise<void>;
}

interface Addr {
  host: string;
  port: number;
}

/** Seconds left on the cookie, as every store computes it. */
function ttlOf(sess: SessionData): number {
  const expires = sess.cookie?.expires;
  return expires ? Math.ceil((new Date(expires).getTime() - Date.now()) / 1000) : 86_400;
}

interface Store {
  get(sid: string): Promise<unknown>;
  set(sid: string, sess: SessionData): Promise<unknown>;
  touch(sid: string, sess: SessionData): Promise<unknown>;
}

function storeSubject(
  id: string,
  label: string,
  store: Store,
  stop: () => Promise<unknown>,
): Subject {
  return {
    id,
    label,
    get: (sid) => store.get(sid),
    set: (sid, sess) => store.set(sid, sess),
    touch: (sid, sess) => store.touch(sid, sess),
    stop: async () => {
      await stop();
    },
  };
}

/** Raw ioredis: the commands the stores send, with JSON, nothing else. */
function rawSubject(id: string, label: string, client: Redis | Cluster, prefix: string): Subject {
  return {
    id,
    label,
    get: async (sid) => {
      const text = await client.get(prefix + sid);
      return text === null ? null : JSON.parse(text);
    },
    set: (sid, sess) => client.set(prefix + sid, JSON.stringify(sess), "EX", ttlOf(sess)),
    touch: (sid, sess) => client.expire(prefix + sid, ttlOf(sess)),
    stop: async () => {
      await client.quit();
    },
  };
}

async function subjectsFor(kind: TopologyName, url: string, nodes: Addr[]): Promise<Subject[]> {
  const ioredis = (autoPipelining: boolean): Redis | Cluster =>
    kind === "cluster"
      ? new Cluster(nodes, { enableAutoPipelining: autoPipelining })
      : new Redis(url, { enableAutoPipelining: autoPipelining });

  const ours = new ha.RedisStore({ url, prefix: "ha:" });
  const oursJson = new ha.RedisStore({ url, prefix: "hajson:", serializer: "json" });
  const cr81Client = ioredis(false);
  const cr81ApClient = ioredis(true);

  const nodeRedis =
    kind === "cluster"
      ? createCluster({ rootNodes: nodes.map((n) => ({ url: `redis://${n.host}:${n.port}` })) })
      : createClient({ url });
  nodeRedis.on("error", () => {
    // Reported through the failing operation.
  });
  await nodeRedis.connect();

  const subjects: Subject[] = [
    storeSubject("ha", "connect-redis-ha (msgpack)", ours, () => ours.close()),
    storeSubject("ha-json", "connect-redis-ha (json)", oursJson, () => oursJson.close()),
    storeSubject(
      "cr81",
      "connect-redis 8.1 + ioredis",
      new ConnectRedis81({ client: cr81Client, prefix: "cr81:" }),
      () => cr81Client.quit(),
    ),
    storeSubject(
      "cr81-ap",
      "connect-redis 8.1 + ioredis AP",
      new ConnectRedis81({ client: cr81ApClient, prefix: "cr81ap:" }),
      () => cr81ApClient.quit(),
    ),
    storeSubject(
      "cr10",
      `connect-redis 10 + node-redis${kind === "cluster" ? " createCluster" : ""}`,
      new ConnectRedis10({ client: nodeRedis, prefix: "cr10:" }),
      () => nodeRedis.close(),
    ),
  ];
  if (kind === "cluster") {
    // What the spec reports: connect-redis 10 handed an ioredis Cluster (it only
    // supports node-redis) sends node-redis' SET options object and fails.
    const c = ioredis(false);
    subjects.push({
      ...storeSubject(
        "cr10-ioredis",
        "connect-redis 10 + ioredis Cluster",
        new ConnectRedis10({ client: c, prefix: "cr10io:" }),
        () => c.quit(),
      ),
      ops: ["set"],
    });
  }
  subjects.push(
    rawSubject("raw", "raw ioredis (JSON)", ioredis(false), "raw:"),
    rawSubject("raw-ap", "raw ioredis AP (JSON)", ioredis(true), "rawap:"),
  );
  for (const s of subjects) track(s);
  return subjects;
}

interface Cell {
  topology: TopologyName;
  op: Op;
  concurrency: number;
  subject: string;
  label: string;
  rounds: LoadResult[];
}

function measure(subject: Subject, op: Op, concurrency: number, durationMs: number) {
  const sess = typicalSession();
  const sids = Array.from({ length: POOL }, (_, i) => `s${i}`);
  const call =
    op === "get"
      ? (i: number) => subject.get(sids[i % POOL]!)
      : op === "set"
        ? (i: number) => subject.set(sids[i % POOL]!, sess)
        : (i: number) => subject.touch(sids[i % POOL]!, sess);
  return closedLoop(call, { concurrency, durationMs });
}

async function populate(subject: Subject): Promise<void> {
  const r = await closedLoop((i) => subject.set(`s${i}`, typicalSession()), {
    concurrency: 50,
    durationMs: 60_000,
    maxOps: POOL,
  });
  // connect-redis 10 on an ioredis Cluster cannot write; it is measured on set only, to show that.
  if (r.error) {
    console.log(`  (${subject.label}: set failed while populating: ${r.error})`);
  }
}

async function runTopology(kind: TopologyName, url: string, nodes: Addr[]): Promise<Cell[]> {
  const subjects = await subjectsFor(kind, url, nodes);
  for (const s of subjects) await populate(s);

  const cells = new Map<string, Cell>();
  const plan: Array<{ op: Op; concurrency: number }> = [];
  for (const op of OPS) for (const concurrency of CONCURRENCY) plan.push({ op, concurrency });

  // Warm-up: every path once, results discarded.
  for (const { op, concurrency } of plan) {
    for (const s of subjects) {
      if (s.ops && !s.ops.includes(op)) continue;
      await measure(s, op, concurrency, WARMUP_MS);
    }
  }

  for (let round = 0; round < ROUNDS[kind]; round++) {
    progress(`  ${kind}: round ${round + 1}/${ROUNDS[kind]}`);
    for (const { op, concurrency } of plan) {
      for (const s of rotate(subjects, round)) {
        if (s.ops && !s.ops.includes(op)) continue;
        const id = `${op}/${concurrency}/${s.id}`;
        let cell = cells.get(id);
        if (!cell) {
          cell = { topology: kind, op, concurrency, subject: s.id, label: s.label, rounds: [] };
          cells.set(id, cell);
        }
        cell.rounds.push(await measure(s, op, concurrency, CELL_MS[concurrency]!));
      }
    }
  }
  progressDone();
  for (const s of subjects) await release(s).catch(() => {});
  // Table order: by operation and concurrency, then implementations as listed.
  const order = (c: Cell) =>
    plan.findIndex((p) => p.op === c.op && p.concurrency === c.concurrency) * subjects.length +
    subjects.findIndex((s) => s.id === c.subject);
  return [...cells.values()].sort((a, b) => order(a) - order(b));
}

interface Row {
  topology: TopologyName;
  op: Op;
  concurrency: number;
  subject: string;
  label: string;
  opsPerSec: number | undefined;
  p50: number | undefined;
  p95: number | undefined;
  p99: number | undefined;
  cpuMicrosPerOp: number | undefined;
  vsBaseline: number | undefined;
  vsCeiling: number | undefined;
  roundsOpsPerSec: number[];
  error?: string;
}

/** Median over rounds of `cell`'s ops/s divided by `other`'s ops/s in the same round. */
function pairedRatio(cell: Cell, other: Cell | undefined): number | undefined {
  if (!other || cell.rounds.some((r) => r.error) || other.rounds.some((r) => r.error)) return;
  const ratios = cell.rounds.map((r, i) => r.opsPerSec / other.rounds[i]!.opsPerSec);
  return median(ratios);
}

function summarizeCells(cells: Cell[]): Row[] {
  const find = (c: Cell, subject: string) =>
    cells.find((o) => o.op === c.op && o.concurrency === c.concurrency && o.subject === subject);
  return cells.map((c) => {
    const failed = c.rounds.find((r) => r.error);
    const ok = c.rounds.filter((r) => !r.error);
    const row: Row = {
      topology: c.topology,
      op: c.op,
      concurrency: c.concurrency,
      subject: c.subject,
      label: c.label,
      opsPerSec: failed ? undefined : median(ok.map((r) => r.opsPerSec)),
      p50: failed ? undefined : median(ok.map((r) => r.p50)),
      p95: failed ? undefined : median(ok.map((r) => r.p95)),
      p99: failed ? undefined : median(ok.map((r) => r.p99)),
      cpuMicrosPerOp: failed ? undefined : median(ok.map((r) => r.cpuMicrosPerOp)),
      vsBaseline: pairedRatio(c, find(c, BASELINE)),
      vsCeiling: pairedRatio(c, find(c, CEILING)),
      roundsOpsPerSec: c.rounds.map((r) => r.opsPerSec),
    };
    if (failed?.error) row.error = failed.error;
    return row;
  });
}

function renderRows(rows: Row[]): string {
  const align: Align[] = ["l", "r", "l", "r", "r", "r", "r", "r", "r", "r"];
  const body = rows.map((r, i) => {
    const prev = rows[i - 1];
    const sameGroup = prev && prev.op === r.op && prev.concurrency === r.concurrency;
    return [
      sameGroup ? "" : r.op,
      sameGroup ? "" : String(r.concurrency),
      r.label,
      r.error ? `failed: ${r.error}` : fmt.rate(r.opsPerSec),
      fmt.ms(r.p50),
      fmt.ms(r.p95),
      fmt.ms(r.p99),
      fmt.us(r.cpuMicrosPerOp),
      fmt.ratio(r.vsBaseline),
      fmt.ratio(r.vsCeiling),
    ];
  });
  return renderTable(
    [
      "op",
      "conc",
      "implementation",
      "ops/s",
      "p50 ms",
      "p95 ms",
      "p99 ms",
      "client CPU µs/op",
      "vs cr 8.1",
      "vs raw AP",
    ],
    body,
    align,
  );
}

function targetsFrom(rows: Row[]): Target[] {
  const at = (op: Op, subject: string) =>
    rows.find(
      (r) =>
        r.topology === "standalone" &&
        r.concurrency === 100 &&
        r.op === op &&
        r.subject === subject,
    );
  const t = (what: string, actual: number | undefined, goal: number): Target => ({
    scenario: "store ops",
    what,
    actual,
    goal,
    kind: "atLeast",
    unit: "x",
  });
  const ours = (op: Op) => at(op, "ha");
  return [
    t("touch, standalone c=100: vs connect-redis 8.1 + ioredis", ours("touch")?.vsBaseline, 1.4),
    t("touch, standalone c=100: vs raw auto-pipelined EXPIRE", ours("touch")?.vsCeiling, 1.0),
    t("get, standalone c=100: vs connect-redis 8.1 + ioredis", ours("get")?.vsBaseline, 1.1),
    t("get, standalone c=100: vs raw auto-pipelined GET + JSON", ours("get")?.vsCeiling, 0.95),
    t("set, standalone c=100: vs connect-redis 8.1 + ioredis", ours("set")?.vsBaseline, 1.1),
    t("set, standalone c=100: vs raw auto-pipelined SET EX + JSON", ours("set")?.vsCeiling, 0.95),
  ];
}

async function main(): Promise<void> {
  const started = Date.now();
  const rows: Row[] = [];
  const tables: Record<string, string> = {};
  let machine: Machine | undefined;
  const notes = [
    `Store under test: ${subjectModule}. ${ROUNDS.standalone} interleaved rounds on standalone, ${ROUNDS.cluster} on the cluster; ` +
      `${CELL_MS[100]} ms per cell at c=100, ${CELL_MS[1]} ms at c=1; medians over rounds.`,
    "AP = ioredis `enableAutoPipelining: true` (connect-redis-ha turns it on for the clients it builds).",
    "Ratios (of ops/s) are medians of per-round ratios against connect-redis 8.1 + ioredis (default client) and raw ioredis AP.",
    "Client CPU = user + system time of the benchmark process per operation (the driver's share is the same for every row).",
    `Value: a ~1 KB session (cookie + profile + flags); ${POOL} distinct sessions per implementation.`,
  ];

  for (const kind of ["standalone", "cluster"] as const) {
    if (!only(kind)) continue;
    const topo = kind === "standalone" ? await standalone() : await cluster();
    const url = topo.url;
    const nodes: Addr[] =
      topo.kind === "standalone"
        ? [topo.node]
        : topo.nodes.map((n) => ({ host: n.host, port: n.port }));
    machine ??= await describeMachine(nodes[0]);
    const title = `Store ops: ${kind === "standalone" ? "standalone" : "cluster (3 masters + 3 replicas)"}`;
    printHeader(title, machine, notes);
    const topoRows = summarizeCells(await runTopology(kind, url, nodes));
    tables[kind] = renderRows(topoRows);
    console.log(tables[kind]);
    rows.push(...topoRows);
    await release(topo);
  }

  const targets = only("standalone") ? targetsFrom(rows) : [];
  printTargets(targets);
  if (machine) {
    writeResults({
      scenario: "store-ops",
      finishedAt: new Date().toISOString(),
      durationSec: (Date.now() - started) / 1000,
      machine,
      settings: { rounds: ROUNDS, cellMs: CELL_MS, pool: POOL, concurrency: CONCURRENCY, notes },
      tables,
      rows,
      targets,
    });
  }
}

await runMain(main);

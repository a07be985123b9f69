/**
 * Where the time of one store operation goes: a closed loop of `get`, `set`
 * or `touch` on connect-redis-ha (or, with `--peer raw`, on raw plain ioredis
 * with JSON, for comparison) under the V8 CPU profiler, on a standalone node
 * or a cluster the harness starts. Prints self time by bucket and the top
 * functions, both per operation, and keeps the .cpuprofile for DevTools.
 *
 *   node --import tsx bench/profile.ts <get|set|touch> <concurrency> [standalone|cluster]
 *        [--peer ha|raw] [--seconds 5] [--interval-us 250]
 *
 * The store is loaded as the scenarios load it (lib/subject.ts): a copy of
 * dist/esm taken at start, or BENCH_STORE_MODULE.
 */
import { writeFileSync } from "node:fs";
import { Session } from "node:inspector/promises";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { Cluster, Redis } from "ioredis";
import { IDLE, type ProfileSummary, summarizeProfile } from "./lib/cpu-profile.js";
import { describeMachine } from "./lib/machine.js";
import { measure, OPS, type Op, populate, rawSubject, storeSubject } from "./lib/peers.js";
import { fmt, printHeader, RESULTS_DIR, renderTable } from "./lib/report.js";
import { cluster, release, runMain, standalone, track } from "./lib/resources.js";
import { useDistSnapshot } from "./lib/snapshot.js";

const USAGE =
  "usage: node --import tsx bench/profile.ts <get|set|touch> <concurrency> [standalone|cluster] " +
  "[--peer ha|raw] [--seconds 5] [--interval-us 250]";

const TOPOLOGIES = ["standalone", "cluster"] as const;
type TopologyName = (typeof TOPOLOGIES)[number];
/** Long enough for the JIT to settle on the loop before the profiler starts. */
const WARMUP_MS = 1000;
const TOP_FUNCTIONS = 15;

function fail(message: string): never {
  console.error(`${message}\n${USAGE}`);
  process.exit(2);
}

function positiveInt(name: string, raw: string, max: number): number {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > max) {
    fail(`Expected \`${name}\` to be a whole number from 1 to ${max}, got \`${raw}\``);
  }
  return n;
}

const { values, positionals } = (() => {
  try {
    return parseArgs({
      allowPositionals: true,
      options: {
        peer: { type: "string", default: "ha" },
        seconds: { type: "string", default: "5" },
        "interval-us": { type: "string", default: "250" },
      },
    });
  } catch (err) {
    return fail((err as Error).message);
  }
})();

const [opArg, concurrencyArg, topologyArg = "standalone", ...extra] = positionals;
if (!opArg || !concurrencyArg || extra.length > 0) fail("Expected an operation and a concurrency");
if (!(OPS as readonly string[]).includes(opArg)) {
  fail(`Expected the operation to be one of ${OPS.join(", ")}, got \`${opArg}\``);
}
if (!(TOPOLOGIES as readonly string[]).includes(topologyArg)) {
  fail(`Expected the topology to be one of ${TOPOLOGIES.join(", ")}, got \`${topologyArg}\``);
}
if (values.peer !== "ha" && values.peer !== "raw") {
  fail(`Expected \`--peer\` to be \`ha\` (connect-redis-ha) or \`raw\`, got \`${values.peer}\``);
}
const op = opArg as Op;
const concurrency = positiveInt("concurrency", concurrencyArg, 10_000);
const topology = topologyArg as TopologyName;
const peer = values.peer;
// Bounded so that one invocation stays well under half a minute with the cluster's start.
const seconds = positiveInt("--seconds", values.seconds, 20);
const intervalUs = positiveInt("--interval-us", values["interval-us"], 100_000);

// Set before lib/subject.ts loads, so it loads the copy (its own name: a bench may run alongside).
try {
  useDistSnapshot("profile-store-under-test");
} catch (err) {
  fail((err as Error).message);
}
const { ha, subjectModule } = await import("./lib/subject.js");

const here = fileURLToPath(new URL(".", import.meta.url));
const roots = {
  store: dirname(process.env.BENCH_STORE_MODULE!),
  bench: here,
  repo: join(here, ".."),
};

function render(summary: ProfileSummary, ops: number): string {
  const busyUs = summary.totalUs - summary.idleUs;
  const perOp = (us: number) => fmt.us(us / ops);
  const pct = (part: number, whole: number) => `${((part / whole) * 100).toFixed(1)}%`;
  const buckets = renderTable(
    ["bucket", "self ms", "% of wall", "% of busy", "µs/op"],
    summary.buckets.map((b) => [
      b.name,
      (b.selfUs / 1000).toFixed(0),
      pct(b.selfUs, summary.totalUs),
      b.name === IDLE ? "-" : pct(b.selfUs, busyUs),
      perOp(b.selfUs),
    ]),
    ["l", "r", "r", "r", "r"],
  );
  const functions = renderTable(
    ["function", "where", "bucket", "self ms", "% of wall", "µs/op"],
    summary.functions
      .slice(0, TOP_FUNCTIONS)
      .map((f) => [
        f.name,
        f.where,
        f.bucket,
        (f.selfUs / 1000).toFixed(0),
        pct(f.selfUs, summary.totalUs),
        perOp(f.selfUs),
      ]),
    ["l", "l", "l", "r", "r", "r"],
  );
  return [
    "### Self time by bucket\n",
    buckets,
    `\n### Top ${TOP_FUNCTIONS} functions by self time\n`,
    functions,
  ].join("\n");
}

async function main(): Promise<void> {
  const topo = topology === "cluster" ? await cluster() : await standalone();
  const nodes =
    topo.kind === "standalone"
      ? [topo.node]
      : topo.nodes.map((n) => ({ host: n.host, port: n.port }));
  const subject = track(
    peer === "raw"
      ? rawSubject(
          "raw",
          "raw ioredis (JSON)",
          topology === "cluster" ? new Cluster(nodes) : new Redis(topo.url),
          "profraw:",
        )
      : (() => {
          // As a user builds it: the defaults, msgpack included.
          const store = new ha.RedisStore({ url: topo.url, prefix: "prof:" });
          return storeSubject("ha", "connect-redis-ha (msgpack)", store, () => store.close());
        })(),
  );
  const machine = await describeMachine(nodes[0]);
  await populate(subject);
  await measure(subject, op, concurrency, WARMUP_MS);

  const session = new Session();
  session.connect();
  await session.post("Profiler.enable");
  await session.post("Profiler.setSamplingInterval", { interval: intervalUs });
  await session.post("Profiler.start");
  const cpuBefore = process.cpuUsage();
  const result = await measure(subject, op, concurrency, seconds * 1000);
  const cpu = process.cpuUsage(cpuBefore);
  const { profile } = await session.post("Profiler.stop");
  session.disconnect();
  if (result.error) throw new Error(`${op} on ${subject.label} failed: ${result.error}`);

  const file = join(
    RESULTS_DIR,
    `profile-${op}-c${concurrency}-${topology}-${subject.id}.cpuprofile`,
  );
  writeFileSync(file, JSON.stringify(profile));

  const summary = summarizeProfile(profile, roots);
  printHeader(`Profile: ${op}, c=${concurrency}, ${topology}, ${subject.label}`, machine, [
    `Store under test: ${subjectModule}.`,
    `${fmt.count(result.ops)} ops in ${(result.elapsedMs / 1000).toFixed(1)} s ` +
      `(${fmt.rate(result.opsPerSec)} ops/s under the profiler), ` +
      `wall ${fmt.us((result.elapsedMs * 1000) / result.ops)} µs/op, ` +
      `process CPU ${fmt.us((cpu.user + cpu.system) / result.ops)} µs/op; ` +
      `${fmt.count(summary.samples)} samples, one every ${intervalUs} µs.`,
    "Self time: a function's own time, without what it calls; a builtin or C++ binding " +
      "(JSON.parse, a socket write) is charged to the bucket of its JS caller. " +
      "µs/op = bucket time / operations, so the column adds up to wall µs/op.",
    `Profile: ${relative(process.cwd(), file)} (open in Chrome DevTools > Performance, or VS Code).`,
  ]);
  console.log(render(summary, result.ops));

  await release(subject);
  await release(topo);
}

await runMain(main);

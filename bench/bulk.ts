/**
 * Scenario 4, bulk operations on a cluster: `length()` and `clear()` over
 * 100k sessions, against a hand-written walk: per master, SCAN MATCH COUNT
 * 1000, then one UNLINK per slot group of each batch, pipelined on that
 * master's connection (masters in parallel). connect-redis 8.1 on an ioredis
 * Cluster is shown for what it returns (one SCAN walk lands on one master).
 *
 *   node --import tsx bench/bulk.ts        (BENCH_BULK_SESSIONS=20000 for a quick look)
 */
import { RedisStore as ConnectRedis81 } from "connect-redis-81";
import { Cluster, type Redis } from "ioredis";
import { errorText } from "./lib/load.js";
import { describeMachine } from "./lib/machine.js";
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
import { cluster, release, runMain, track } from "./lib/resources.js";
import { smallSession } from "./lib/sessions.js";
import { rounds as roundsSetting } from "./lib/settings.js";
import { slotOf } from "./lib/slot.js";
import { median, rotate } from "./lib/stats.js";
import { ha, subjectModule } from "./lib/subject.js";

const ROUNDS = roundsSetting(3);
const SESSIONS = Number(process.env.BENCH_BULK_SESSIONS ?? 100_000);
const SCAN_COUNT = 1000;
const LENGTH_REPEAT = 3;
const PREFIX = "sess:";
/** The store's cluster keys are `sess:{sid}`. */
const PATTERN = `${PREFIX}{*}`;

async function masters(c: Cluster): Promise<Redis[]> {
  if (c.status !== "ready") await c.ping();
  return c.nodes("master");
}

/** Keys of this scenario on the masters, by DBSIZE (nothing else lives in this cluster). */
async function stored(c: Cluster): Promise<number> {
  const sizes = await Promise.all((await masters(c)).map((n) => n.dbsize()));
  return sizes.reduce((a, b) => a + b, 0);
}

// Sets every key it is given to ARGV[1] with EX ARGV[2]: one call per slot group
// instead of one SET per key keeps populating 100k sessions to a few seconds.
const SET_EX_ALL =
  "for i, key in ipairs(KEYS) do redis.call('SET', key, ARGV[1], 'EX', ARGV[2]) end return #KEYS";

/** Writes every session (SET EX, through a script per slot group, one pipeline per master). */
async function populate(c: Cluster): Promise<void> {
  const value = ha.msgpackSerializer.stringify(smallSession()) as Buffer;
  const nodes = await masters(c);
  const byAddress = new Map(nodes.map((n) => [`${n.options.host}:${n.options.port}`, n]));
  const slots = (c as unknown as { slots: string[][] }).slots;
  const sha = String(await nodes[0]!.script("LOAD", SET_EX_ALL));
  await Promise.all(nodes.slice(1).map((n) => n.script("LOAD", SET_EX_ALL)));
  const bySlot = new Map<number, string[]>();
  for (let i = 0; i < SESSIONS; i++) {
    const key = `${PREFIX}{bulk-${i}}`;
    const slot = slotOf(key);
    const group = bySlot.get(slot);
    if (group) group.push(key);
    else bySlot.set(slot, [key]);
  }
  const pipelines = new Map<Redis, ReturnType<Redis["pipeline"]>>();
  for (const [slot, keys] of bySlot) {
    const node = byAddress.get(slots[slot]![0]!)!;
    let p = pipelines.get(node);
    if (!p) {
      p = node.pipeline();
      pipelines.set(node, p);
    }
    p.evalsha(sha, keys.length, ...keys, value, 3600);
  }
  await Promise.all([...pipelines.values()].map((p) => p.exec()));
  const n = await stored(c);
  if (n !== SESSIONS) throw new Error(`Populated ${n} keys, expected ${SESSIONS}`);
}

async function ensurePopulated(c: Cluster): Promise<void> {
  if ((await stored(c)) !== SESSIONS) await populate(c);
}

/** The hand-written baseline's SCAN walk over one master. */
async function scanMaster(node: Redis, onBatch: (keys: string[]) => Promise<void> | void) {
  let cursor = "0";
  do {
    const [next, keys] = await node.scan(cursor, "MATCH", PATTERN, "COUNT", SCAN_COUNT);
    cursor = next;
    if (keys.length > 0) await onBatch(keys);
  } while (cursor !== "0");
}

async function handLength(c: Cluster): Promise<number> {
  const counts = await Promise.all(
    (await masters(c)).map(async (node) => {
      let n = 0;
      await scanMaster(node, (keys) => {
        n += keys.length;
      });
      return n;
    }),
  );
  return counts.reduce((a, b) => a + b, 0);
}

async function handClear(c: Cluster): Promise<void> {
  await Promise.all(
    (await masters(c)).map((node) =>
      scanMaster(node, async (keys) => {
        const bySlot = new Map<number, string[]>();
        for (const key of keys) {
          const slot = slotOf(key);
          const group = bySlot.get(slot);
          if (group) group.push(key);
          else bySlot.set(slot, [key]);
        }
        const p = node.pipeline();
        for (const group of bySlot.values()) p.unlink(...group);
        const replies = (await p.exec()) ?? [];
        const failed = replies.find(([err]) => err);
        if (failed) throw failed[0];
      }),
    ),
  );
}

interface Impl {
  id: string;
  label: string;
  length(): Promise<number>;
  clear(): Promise<void>;
}

interface Sample {
  ms: number;
  result?: number;
  error?: string;
}

async function time(fn: () => Promise<number | undefined>): Promise<Sample> {
  const t0 = performance.now();
  try {
    const result = await fn();
    const sample: Sample = { ms: performance.now() - t0 };
    if (result !== undefined) sample.result = result;
    return sample;
  } catch (err) {
    return { ms: performance.now() - t0, error: errorText(err) };
  }
}

interface Row {
  op: "length" | "clear";
  impl: string;
  label: string;
  ms: number | undefined;
  sessionsPerSec: number | undefined;
  result: string;
  vsHand: number | undefined;
  roundsMs: number[];
  error?: string;
}

async function main(): Promise<void> {
  const started = Date.now();
  const topo = await cluster();
  const nodes = topo.nodes.map((n) => ({ host: n.host, port: n.port }));
  const machine = await describeMachine(nodes[0]);
  const notes = [
    `Store under test: ${subjectModule}. ${SESSIONS.toLocaleString("en-US")} sessions on 3 masters (+3 replicas); ${ROUNDS} interleaved rounds (length() ${LENGTH_REPEAT} times a round), medians.`,
    `Hand-written: per master in parallel, SCAN MATCH ${PATTERN} COUNT ${SCAN_COUNT}; for clear, one UNLINK per slot group of each batch, pipelined on that master.`,
    "Time ratios are the implementation's time over the hand-written walk's in the same round (lower is better).",
  ];
  printHeader("Bulk: length() and clear() on a cluster", machine, notes);

  const admin = new Cluster(nodes);
  const store = new ha.RedisStore({ url: topo.url });
  const cr81Client = new Cluster(nodes);
  const cr81 = new ConnectRedis81({ client: cr81Client });
  const clients = track({
    stop: async () => {
      await store.close().catch(() => {});
      cr81Client.disconnect();
      admin.disconnect();
    },
  });

  const impls: Impl[] = [
    {
      id: "ha",
      label: "connect-redis-ha",
      length: () => store.length(),
      clear: () => store.clear(),
    },
    {
      id: "hand",
      label: "hand-written SCAN (+ UNLINK for clear)",
      length: () => handLength(admin),
      clear: () => handClear(admin),
    },
    {
      id: "cr81",
      label: "connect-redis 8.1 + ioredis Cluster",
      length: () => cr81.length() as Promise<number>,
      clear: () => cr81.clear() as Promise<void>,
    },
  ];

  progress("  populating");
  const t0 = performance.now();
  await populate(admin);
  const populateMs = performance.now() - t0;
  console.log(
    `Populated ${SESSIONS.toLocaleString("en-US")} sessions in ${fmt.ms(populateMs)} ms (SET EX through one script call per slot, pipelined per master).\n`,
  );

  // Warm-up: one length each (also connects every client).
  for (const impl of impls) await impl.length().catch(() => 0);

  const samples = new Map<string, Sample[]>();
  const push = (key: string, s: Sample) => {
    const list = samples.get(key) ?? [];
    list.push(s);
    samples.set(key, list);
  };
  for (let round = 0; round < ROUNDS; round++) {
    await ensurePopulated(admin);
    // length() is cheap next to clear(): sample it LENGTH_REPEAT times a round.
    for (let rep = 0; rep < LENGTH_REPEAT; rep++) {
      for (const impl of rotate(impls, round + rep)) {
        progress(`  round ${round + 1}/${ROUNDS}: length, ${impl.id}`);
        push(`length/${impl.id}`, await time(() => impl.length()));
      }
    }
    for (const impl of rotate(impls, round)) {
      progress(`  round ${round + 1}/${ROUNDS}: clear, ${impl.id}`);
      await ensurePopulated(admin);
      const sample = await time(async () => {
        await impl.clear();
        return undefined;
      });
      if (!sample.error) sample.result = SESSIONS - (await stored(admin));
      push(`clear/${impl.id}`, sample);
    }
  }
  progressDone();

  const rows: Row[] = [];
  for (const op of ["length", "clear"] as const) {
    const hand = samples.get(`${op}/hand`)!;
    for (const impl of impls) {
      const s = samples.get(`${op}/${impl.id}`)!;
      const failed = s.find((x) => x.error);
      const ms = failed ? undefined : median(s.map((x) => x.ms));
      const results = s.map((x) => x.result ?? 0);
      const low = Math.min(...results);
      const high = Math.max(...results);
      const counted = low === high ? fmt.count(low) : `${fmt.count(low)} to ${fmt.count(high)}`;
      const resultText = failed
        ? `failed: ${failed.error}`
        : op === "length"
          ? `${counted} of ${fmt.count(SESSIONS)}`
          : `${counted} deleted`;
      const row: Row = {
        op,
        impl: impl.id,
        label: impl.label,
        ms,
        sessionsPerSec: ms === undefined ? undefined : (SESSIONS / ms) * 1000,
        result: resultText,
        vsHand: failed ? undefined : median(s.map((x, i) => x.ms / hand[i]!.ms)),
        roundsMs: s.map((x) => x.ms),
      };
      if (failed?.error) row.error = failed.error;
      rows.push(row);
    }
  }

  const align: Align[] = ["l", "l", "r", "r", "r", "l"];
  const table = renderTable(
    ["op", "implementation", "time ms", "sessions/s", "time vs hand-written", "result"],
    rows.map((r, i) => [
      i > 0 && rows[i - 1]!.op === r.op ? "" : `${r.op}()`,
      r.label,
      fmt.ms(r.ms),
      fmt.rate(r.sessionsPerSec),
      fmt.ratio(r.vsHand),
      r.result,
    ]),
    align,
  );
  console.log(table);

  const ours = (op: string) => rows.find((r) => r.op === op && r.impl === "ha");
  const exact = (op: string) => ours(op)?.result.startsWith(fmt.count(SESSIONS)) ?? false;
  const targets: Target[] = (["length", "clear"] as const).map((op) => ({
    scenario: "bulk",
    what: `${op}() over ${fmt.count(SESSIONS)} sessions on the cluster: time vs hand-written${exact(op) ? "" : " (result NOT exact)"}`,
    actual: exact(op) ? ours(op)?.vsHand : undefined,
    goal: 1.3,
    kind: "atMost" as const,
    unit: "x",
  }));
  printTargets(targets);
  await release(clients);
  await release(topo);

  writeResults({
    scenario: "bulk",
    finishedAt: new Date().toISOString(),
    durationSec: (Date.now() - started) / 1000,
    machine,
    settings: { rounds: ROUNDS, sessions: SESSIONS, scanCount: SCAN_COUNT, populateMs, notes },
    tables: { bulk: table },
    rows,
    targets,
  });
}

await runMain(main);

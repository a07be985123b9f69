/**
 * Scenario 2, end to end: Express 5 + express-session (rolling: true,
 * resave: false, saveUninitialized: false) under autocannon. Each session is
 * written once at login; the load then reads it and express-session touches
 * it on every request.
 *
 * Each store runs in its own app process (bench/e2e-app.ts), so the app's CPU
 * time per request is measured apart from the load generator. Redis commands
 * per request come from `INFO commandstats` deltas (INFO itself left out).
 * MemoryStore is the upper bound, connect-redis 8.1 on ioredis the baseline.
 *
 *   node --import tsx bench/e2e.ts
 */
import { type ChildProcess, fork } from "node:child_process";
import { once } from "node:events";
import { fileURLToPath } from "node:url";
import autocannon from "autocannon";
import { Redis } from "ioredis";
import {
  APP_LABELS,
  APP_STORES,
  type AppStore,
  type FromApp,
  type ToApp,
} from "./lib/e2e-protocol.js";
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
import { release, runMain, standalone, track } from "./lib/resources.js";
import { rounds as roundsSetting, scaled } from "./lib/settings.js";
import { median, rotate } from "./lib/stats.js";
import { subjectModule } from "./lib/subject.js";

const ROUNDS = roundsSetting(3);
const DURATION_S = scaled(3500) / 1000;
const WARMUP_S = scaled(1000) / 1000;
const CONNECTIONS = 50;
/**
 * Logged-in sessions the load rotates through: four times the connections, so
 * requests in flight never share a session, and few enough that each session
 * sees many requests a minute, as an active user does (with touchAfter: 60 a
 * session costs one EXPIRE per minute of activity, spread over its requests).
 */
const SESSIONS = 200;

const APP_FILE = fileURLToPath(new URL("./e2e-app.ts", import.meta.url));

class App {
  private waiting: ((m: FromApp) => void) | undefined;

  private constructor(
    readonly kind: AppStore,
    private readonly child: ChildProcess,
    readonly port: number,
  ) {
    child.on("message", (m: FromApp) => {
      const w = this.waiting;
      this.waiting = undefined;
      w?.(m);
    });
  }

  static async start(kind: AppStore, redisUrl: string): Promise<App> {
    const child = fork(APP_FILE, [], {
      execArgv: ["--import", "tsx"],
      env: { ...process.env, BENCH_APP_STORE: kind, BENCH_REDIS_URL: redisUrl },
      stdio: ["ignore", "inherit", "inherit", "ipc"],
    });
    const [first] = (await Promise.race([
      once(child, "message"),
      once(child, "exit").then(([code]) => {
        throw new Error(`The ${kind} app exited with code ${code} before it was ready`);
      }),
    ])) as [FromApp];
    if (first.type !== "ready") {
      child.kill("SIGKILL");
      throw new Error(
        `The ${kind} app failed to start: ${first.type === "error" ? first.message : first.type}`,
      );
    }
    return track(new App(kind, child, first.port));
  }

  private ask(message: ToApp): Promise<FromApp> {
    return new Promise((resolve) => {
      this.waiting = resolve;
      this.child.send(message);
    });
  }

  async stats(): Promise<{ cpuMicros: number; requests: number }> {
    const m = await this.ask({ type: "stats" });
    if (m.type !== "stats")
      throw new Error(`Expected stats from the ${this.kind} app, got ${m.type}`);
    return { cpuMicros: m.cpu.user + m.cpu.system, requests: m.requests };
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = once(this.child, "exit");
    this.child.send({ type: "close" } satisfies ToApp);
    const timer = setTimeout(() => this.child.kill("SIGKILL"), 3000);
    await exited;
    clearTimeout(timer);
  }

  /** Logs `count` users in and returns their cookies (`sid=...`). */
  async login(count: number): Promise<string[]> {
    const cookies: string[] = [];
    let next = 0;
    const worker = async () => {
      while (next < count) {
        next++;
        const res = await fetch(`http://127.0.0.1:${this.port}/login`, { method: "POST" });
        const cookie = res.headers.getSetCookie()[0]?.split(";")[0];
        await res.arrayBuffer();
        if (!res.ok || !cookie)
          throw new Error(`Login on the ${this.kind} app failed: HTTP ${res.status}`);
        cookies.push(cookie);
      }
    };
    await Promise.all(Array.from({ length: 20 }, worker));
    return cookies;
  }
}

/** Calls of every command since the last CONFIG RESETSTAT, INFO itself left out. */
async function redisCalls(admin: Redis): Promise<number> {
  const info = String(await admin.info("commandstats"));
  let total = 0;
  for (const match of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) {
    if (match[1] !== "info") total += Number(match[2]);
  }
  return total;
}

function load(port: number, cookies: string[], durationS: number) {
  let n = 0;
  return autocannon({
    url: `http://127.0.0.1:${port}`,
    connections: CONNECTIONS,
    duration: durationS,
    requests: [
      {
        method: "GET",
        path: "/",
        setupRequest: (req) => ({
          ...req,
          headers: { ...req.headers, cookie: cookies[n++ % cookies.length]! },
        }),
      },
    ],
  });
}

interface RoundResult {
  reqPerSec: number;
  p50: number;
  p99: number;
  cpuMicrosPerReq: number;
  redisCallsPerReq: number;
  requests: number;
  failures: number;
}

async function measure(
  app: App,
  cookies: string[],
  admin: Redis,
  durationS: number,
): Promise<RoundResult> {
  const before = await app.stats();
  const callsBefore = await redisCalls(admin);
  const result = await load(app.port, cookies, durationS);
  const after = await app.stats();
  const callsAfter = await redisCalls(admin);
  const requests = after.requests - before.requests;
  return {
    reqPerSec: result.requests.total / result.duration,
    p50: result.latency.p50,
    p99: result.latency.p99,
    cpuMicrosPerReq: (after.cpuMicros - before.cpuMicros) / requests,
    redisCallsPerReq: (callsAfter - callsBefore) / requests,
    requests,
    failures: result.non2xx + result.errors + result.timeouts,
  };
}

interface Row {
  store: AppStore;
  label: string;
  reqPerSec: number;
  p50: number;
  p99: number;
  cpuMicrosPerReq: number;
  redisCallsPerReq: number;
  failures: number;
  reqPerSecVsMemory: number;
  cpuVsMemory: number;
  reqPerSecVsCr81: number;
  cpuVsCr81: number;
  rounds: RoundResult[];
}

function pairedMedian(a: RoundResult[], b: RoundResult[], pick: (r: RoundResult) => number) {
  return median(a.map((r, i) => pick(r) / pick(b[i]!)));
}

async function main(): Promise<void> {
  const started = Date.now();
  const topo = await standalone();
  const machine = await describeMachine(topo.node);
  const notes = [
    `Store under test: ${subjectModule}. Express 5, express-session 1.19 (rolling, resave: false, saveUninitialized: false).`,
    `autocannon: ${CONNECTIONS} connections, ${DURATION_S} s per round, ${ROUNDS} interleaved rounds, medians; ${SESSIONS} logged-in sessions (~1 KB) rotated per request.`,
    "App CPU = user + system time of the app process (its own process) per request served. Redis cmds = INFO commandstats delta per request.",
  ];
  printHeader("End to end: Express 5 + express-session under autocannon", machine, notes);

  const admin = new Redis({ host: topo.node.host, port: topo.node.port });
  track({ stop: () => admin.disconnect() });
  progress("  starting the apps");
  const apps = await Promise.all(APP_STORES.map((kind) => App.start(kind, topo.url)));
  const cookies = new Map<AppStore, string[]>();
  for (const app of apps) cookies.set(app.kind, await app.login(SESSIONS));

  for (const app of apps) {
    progress(`  warm-up: ${app.kind}`);
    await measure(app, cookies.get(app.kind)!, admin, WARMUP_S);
  }
  const results = new Map<AppStore, RoundResult[]>(APP_STORES.map((k) => [k, []]));
  for (let round = 0; round < ROUNDS; round++) {
    for (const app of rotate(apps, round)) {
      progress(`  round ${round + 1}/${ROUNDS}: ${app.kind}`);
      results.get(app.kind)!.push(await measure(app, cookies.get(app.kind)!, admin, DURATION_S));
    }
  }
  progressDone();
  for (const app of apps) await release(app);

  const memory = results.get("memory")!;
  const cr81 = results.get("cr81")!;
  const rows: Row[] = APP_STORES.map((store) => {
    const r = results.get(store)!;
    return {
      store,
      label: APP_LABELS[store],
      reqPerSec: median(r.map((x) => x.reqPerSec)),
      p50: median(r.map((x) => x.p50)),
      p99: median(r.map((x) => x.p99)),
      cpuMicrosPerReq: median(r.map((x) => x.cpuMicrosPerReq)),
      redisCallsPerReq: median(r.map((x) => x.redisCallsPerReq)),
      failures: r.reduce((a, x) => a + x.failures, 0),
      reqPerSecVsMemory: pairedMedian(r, memory, (x) => x.reqPerSec),
      cpuVsMemory: pairedMedian(r, memory, (x) => x.cpuMicrosPerReq),
      reqPerSecVsCr81: pairedMedian(r, cr81, (x) => x.reqPerSec),
      cpuVsCr81: pairedMedian(r, cr81, (x) => x.cpuMicrosPerReq),
      rounds: r,
    };
  });

  const align: Align[] = ["l", "r", "r", "r", "r", "r", "r", "r", "r", "r", "r"];
  const table = renderTable(
    [
      "store",
      "req/s",
      "p50 ms",
      "p99 ms",
      "app CPU µs/req",
      "Redis cmds/req",
      "req/s vs Memory",
      "CPU vs Memory",
      "req/s vs cr 8.1",
      "CPU vs cr 8.1",
      "failed req",
    ],
    rows.map((r) => [
      r.label,
      fmt.rate(r.reqPerSec),
      fmt.ms(r.p50),
      fmt.ms(r.p99),
      fmt.us(r.cpuMicrosPerReq),
      r.redisCallsPerReq.toFixed(3),
      fmt.ratio(r.reqPerSecVsMemory),
      fmt.ratio(r.cpuVsMemory),
      fmt.ratio(r.reqPerSecVsCr81),
      fmt.ratio(r.cpuVsCr81),
      fmt.count(r.failures),
    ]),
    align,
  );
  console.log(table);
  const lazy = results.get("ha-touch60")!;
  const lazyRequests = lazy.reduce((a, r) => a + r.requests, 0);
  const lazyCalls = lazy.reduce((a, r) => a + r.redisCallsPerReq * r.requests, 0);
  const aggregate = lazyCalls / lazyRequests;
  const lazyNote =
    `touchAfter: 60, all rounds together: ${fmt.count(lazyCalls)} Redis commands for ${fmt.count(lazyRequests)} requests ` +
    `(${aggregate.toFixed(3)} per request). ` +
    `Each session sends one EXPIRE per 60 s in which it is used; the first ${SESSIONS} are due once the logins are 60 s old.`;
  console.log(`\n${lazyNote}`);

  const row = (s: AppStore) => rows.find((r) => r.store === s)!;
  const targets: Target[] = [
    {
      scenario: "end to end",
      what: "app CPU per request: connect-redis-ha vs MemoryStore",
      actual: row("ha").cpuVsMemory,
      goal: 1.1,
      kind: "atMost",
      unit: "x",
    },
    {
      scenario: "end to end",
      what: "app CPU per request: connect-redis-ha touchAfter: 60 vs MemoryStore",
      actual: row("ha-touch60").cpuVsMemory,
      goal: 1.1,
      kind: "atMost",
      unit: "x",
    },
    {
      scenario: "end to end",
      what: "Redis commands per request with touchAfter: 60",
      actual: row("ha-touch60").redisCallsPerReq,
      goal: 1.05,
      kind: "atMost",
      unit: "",
    },
  ];
  printTargets(targets);
  await release(topo);

  writeResults({
    scenario: "e2e",
    finishedAt: new Date().toISOString(),
    durationSec: (Date.now() - started) / 1000,
    machine,
    settings: {
      rounds: ROUNDS,
      durationS: DURATION_S,
      connections: CONNECTIONS,
      sessions: SESSIONS,
      notes,
    },
    tables: { e2e: `${table}\n\n${lazyNote}` },
    extra: { touchAfterAggregate: aggregate },
    rows,
    targets,
  });
}

await runMain(main);

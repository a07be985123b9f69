/**
 * The HTTP scenario of issue 11, instrumented: an Express 5 app with
 * express-session on a durable store, 8 keep-alive clients (Node's fetch)
 * that each log in and then bump a counter in their session back to back,
 * a planned failover part-way through, and optionally a busy machine
 * (foreign-load.ts) around it all.
 *
 * The counter route saves through express-session's own end-of-request save,
 * as most apps do. That is where a store error cannot become a 500 any more:
 * the headers are out, so Express destroys the connection instead and the
 * client sees a reset. Everything on that path is recorded: every store
 * call and how many times it settled, errors that reach Express after the
 * headers were sent, who destroyed which socket, clientError, socket and
 * response errors, and process-level uncaught exceptions and rejections.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import express from "express";
import session from "express-session";
import { expect } from "vitest";
import { RedisStore, type RedisStoreOptions } from "../../src/index.js";
import { type ForeignLoad, type ForeignLoadOptions, startForeignLoad } from "./foreign-load.js";
import { emptyStats, type LoadStats, record } from "./load.js";
import type { Report } from "./report.js";

declare module "express-session" {
  interface SessionData {
    n?: number;
    user?: string;
  }
}

const CLIENT_CLOSED = "client closed an idle connection";
const FAILOVER_STARTED = "failover started";
const FAILOVER_COMPLETE = "failover complete";
const STORE_CONNECT = "store connect";

/** One thing worth knowing that happened during a run, `at` ms after the load started. */
export interface Happening {
  at: number;
  what: string;
  detail: string;
}

/** One call express-session made on the store. */
export interface StoreCall {
  op: string;
  sid: string;
  at: number;
  /** How many times its callback ran (or its promise settled): exactly 1 is right. */
  settles: number;
  error?: string;
}

const STORE_OPS = ["get", "set", "touch", "destroy"] as const;

/**
 * Counts, per call, how often each store method's callback (or promise)
 * settles, by wrapping the methods on the instance express-session is given.
 */
export class CallLedger {
  readonly calls: StoreCall[] = [];
  private pending = 0;
  private idle: Array<() => void> = [];

  constructor(private readonly clock: () => number) {}

  wrap(store: RedisStore): void {
    const target = store as unknown as Record<string, (...args: unknown[]) => unknown>;
    for (const op of STORE_OPS) {
      if (typeof target[op] !== "function") continue;
      const original = target[op].bind(store);
      target[op] = (...args: unknown[]) => {
        const call: StoreCall = { op, sid: String(args[0]), at: this.clock(), settles: 0 };
        this.calls.push(call);
        this.pending++;
        const last = args.length - 1;
        const cb = args[last];
        if (typeof cb === "function") {
          args[last] = (err: unknown, value: unknown) => {
            this.settled(call, err);
            return cb(err, value);
          };
          return original(...args);
        }
        const result = original(...args) as Promise<unknown>;
        result.then(
          () => this.settled(call, undefined),
          (err: unknown) => this.settled(call, err),
        );
        return result;
      };
    }
  }

  private settled(call: StoreCall, err: unknown): void {
    call.settles++;
    if (err) call.error = `${(err as { code?: string }).code ?? ""} ${(err as Error).message}`;
    if (call.settles !== 1) return;
    this.pending--;
    if (this.pending === 0) for (const resolve of this.idle.splice(0)) resolve();
  }

  /** Resolves once every call made so far has settled (or after `timeoutMs`, to report it). */
  whenSettled(timeoutMs: number): Promise<void> {
    if (this.pending === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      this.idle.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  /** Calls that settled other than exactly once. */
  wrong(): StoreCall[] {
    return this.calls.filter((c) => c.settles !== 1);
  }
}

/** The first lines of a stack below the caller, to say who closed a socket. */
function caller(): string {
  const lines = (new Error().stack ?? "").split("\n").slice(3, 9);
  return lines
    .map((l) => l.trim().replace(/^at /, ""))
    .filter((l) => !l.includes("node:internal/process"))
    .join(" < ");
}

interface CounterApp {
  url: string;
  server: Server;
  close(): Promise<void>;
}

/**
 * POST /login puts a user and a zero count in a new session; GET /bump adds
 * one to the count and answers it. Neither saves by hand.
 */
async function startCounterApp(
  store: RedisStore,
  note: (what: string, detail: string) => void,
): Promise<CounterApp> {
  const app = express();
  app.use((_req, res, next) => {
    // Node emits write-after-end (ERR_STREAM_WRITE_AFTER_END) here; unheard, it would be uncaught.
    res.on("error", (err) => note("response error", `${(err as { code?: string }).code} ${err}`));
    next();
  });
  app.use(
    session({
      store,
      secret: "issue-11",
      resave: false,
      saveUninitialized: false,
      name: "sid",
    }),
  );
  let users = 0;
  app.post("/login", (req, res) => {
    req.session.user = `user-${users++}`;
    req.session.n = 0;
    res.json({ n: 0, sid: req.sessionID });
  });
  app.get("/bump", (req, res) => {
    if (!req.session) {
      res
        .status(503)
        .json({ error: "no session store (express-session saw the store disconnect)" });
      return;
    }
    req.session.n = (req.session.n ?? 0) + 1;
    res.json({ n: req.session.n, sid: req.sessionID });
  });
  app.use(
    (err: Error, _req: express.Request, res: express.Response, next: express.NextFunction) => {
      const code = (err as { code?: string }).code ?? err.name;
      if (res.headersSent) {
        // What Express does next (finalhandler) is destroy the socket: the reset clients see.
        note("error after headers were sent", `${code}: ${err.message}`);
        next(err);
        return;
      }
      note("error answered 500", `${code}: ${err.message}`);
      res.status(500).json({ error: code, message: err.message });
    },
  );

  const server = createServer(app);
  // Our own close() at the end destroys every socket: that is not news.
  let closing = false;
  server.on("clientError", (err, socket) => {
    note("clientError", `${(err as { code?: string }).code} ${err.message}`);
    socket.destroy();
  });
  server.on("connection", (socket: Socket) => {
    socket.on("error", (err) => note("socket error", `${(err as { code?: string }).code} ${err}`));
    // undici closes a connection it left idle for its keep-alive time (e.g. a
    // ninth one opened while the others were busy): the server only answers
    // that FIN, and no request is on it. Everything else that closes a socket
    // from the server's side is what a client sees as a reset.
    socket.on("end", () => {
      if (!closing) note(CLIENT_CLOSED, "");
    });
    const fromServer = () => !closing && !socket.readableEnded;
    const destroy = socket.destroy.bind(socket);
    socket.destroy = (error?: Error) => {
      if (!socket.destroyed && fromServer()) {
        note("server destroyed a socket", `${error ?? ""} by ${caller()}`);
      }
      return destroy(error);
    };
    const end = socket.end.bind(socket) as (...args: unknown[]) => Socket;
    socket.end = ((...args: unknown[]) => {
      if (!socket.writableEnded && fromServer()) note("server ended a socket", `by ${caller()}`);
      return end(...args);
    }) as typeof socket.end;
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        closing = true;
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A failed HTTP request: when it started, what fetch said and why. */
export interface FailedRequest {
  at: number;
  ms: number;
  client: number;
  error: string;
  cause: string;
}

interface ClientState {
  cookie: string;
  sid: string;
  /** The last count the app answered. */
  acked: number;
}

async function login(url: string): Promise<ClientState> {
  const res = await fetch(`${url}/login`, { method: "POST", signal: AbortSignal.timeout(15_000) });
  const body = (await res.json()) as { sid: string };
  const cookie = res.headers.get("set-cookie")?.split(";")[0];
  if (res.status !== 200 || !cookie) {
    throw new Error(`login failed: ${res.status} ${JSON.stringify(body)}`);
  }
  return { cookie, sid: body.sid, acked: 0 };
}

export interface LoadedFailoverOptions {
  /** What the store connects to (redis-sentinel://..., redis-cluster://...). */
  url: string;
  store?: RedisStoreOptions;
  /** The planned failover; resolves when the topology says it is complete. */
  fault: () => Promise<void>;
  /** A busy machine around the run; none when undefined. */
  foreign?: Omit<ForeignLoadOptions, "durationMs">;
  clients?: number;
  /** How long the clients bump their counters. @default 6000 */
  durationMs?: number;
  /** When the failover starts, from the start of the load. @default 1500 */
  faultAfterMs?: number;
}

export interface LoadedFailoverOutcome {
  stats: LoadStats;
  failed: FailedRequest[];
  /** Responses whose count jumped by more than one: a save landed without its answer. */
  skipped: number;
  /** Responses whose count did not grow: a save was lost. */
  regressions: number;
  /** Sessions whose stored count is below the last one their client was answered. */
  lost: number;
  storeCalls: number;
  /** Store calls whose callback ran other than once. */
  wrongSettles: StoreCall[];
  /** Everything the app, its server and the process reported, in order. */
  happenings: Happening[];
  /** Epoch ms of the load's start; every other time here is relative to it. */
  startedAt: number;
  faultAt: number;
  readyAt: number;
}

/** Runs the scenario and always releases what it started (app, store, clients, foreign load). */
export async function loadedFailover(opts: LoadedFailoverOptions): Promise<LoadedFailoverOutcome> {
  const durationMs = opts.durationMs ?? 6000;
  const faultAfterMs = opts.faultAfterMs ?? 1500;
  let t0 = Date.now();
  const clock = () => Date.now() - t0;
  const happenings: Happening[] = [];
  const note = (what: string, detail: string) => happenings.push({ at: clock(), what, detail });
  const prefix = `issue11-${Date.now().toString(36)}:`;
  const store = new RedisStore({
    durability: { replicas: 1, timeoutMs: 1000 },
    ...opts.store,
    url: opts.url,
    prefix,
  });
  store.on("disconnect", () => note("store disconnect", "express-session now skips sessions"));
  store.on("connect", () => note(STORE_CONNECT, ""));
  const ledger = new CallLedger(clock);
  ledger.wrap(store);
  const onUncaught = (err: Error) => note("uncaughtException", String(err.stack ?? err));
  const onUnhandled = (reason: unknown) =>
    note("unhandledRejection", String((reason as Error)?.stack ?? reason));
  process.on("uncaughtException", onUncaught);
  process.on("unhandledRejection", onUnhandled);

  let app: CounterApp | undefined;
  let foreign: ForeignLoad | undefined;
  let running = true;
  let loops: Promise<void>[] = [];
  try {
    app = await startCounterApp(store, note);
    const url = app.url;
    if (opts.foreign) {
      foreign = await startForeignLoad({ ...opts.foreign, durationMs: durationMs + 5000 });
    }
    const clients = await Promise.all(Array.from({ length: opts.clients ?? 8 }, () => login(url)));

    const stats = emptyStats();
    const failed: FailedRequest[] = [];
    let skipped = 0;
    let regressions = 0;
    t0 = Date.now();
    const deadline = t0 + durationMs;
    const bumpLoop = async (c: ClientState, i: number) => {
      while (running && Date.now() < deadline) {
        const started = Date.now();
        let error: unknown;
        try {
          const res = await fetch(`${url}/bump`, {
            headers: { cookie: c.cookie },
            signal: AbortSignal.timeout(15_000),
          });
          const body = (await res.json()) as { n?: number; error?: string; message?: string };
          if (res.status !== 200) {
            error = Object.assign(new Error(`HTTP ${res.status}: ${body.message ?? body.error}`), {
              code: body.error ?? `HTTP_${res.status}`,
            });
          } else {
            const n = body.n!;
            if (n > c.acked + 1) skipped++;
            if (n <= c.acked) regressions++;
            c.acked = n;
          }
        } catch (err) {
          error = err;
        }
        record(stats, started, error);
        if (error) {
          const cause = (error as { cause?: { code?: string; message?: string } }).cause;
          failed.push({
            at: started - t0,
            ms: Date.now() - started,
            client: i,
            error: String((error as Error).message ?? error),
            cause: cause ? `${cause.code ?? ""} ${cause.message ?? ""}`.trim() : "",
          });
          note("request failed", `client ${i}: ${(error as Error).message} <- ${cause?.message}`);
        }
      }
    };
    loops = clients.map(bumpLoop);

    // The failover's start is a point in the load window, not a wait for anything.
    await new Promise((r) => setTimeout(r, faultAfterMs));
    const faultAt = clock();
    note(FAILOVER_STARTED, "");
    await opts.fault();
    const readyAt = clock();
    note(FAILOVER_COMPLETE, "");
    await Promise.all(loops);
    await foreign?.stop();
    foreign = undefined;

    await ledger.whenSettled(15_000);
    let lost = 0;
    for (const c of clients) {
      const stored = await store.get(c.sid);
      if ((stored?.n ?? -1) < c.acked) lost++;
    }
    await store.clear();
    await app.close();
    app = undefined;
    await store.close();
    return {
      stats,
      failed,
      skipped,
      regressions,
      lost,
      storeCalls: ledger.calls.length,
      wrongSettles: ledger.wrong(),
      happenings,
      startedAt: t0,
      faultAt,
      readyAt,
    };
  } finally {
    running = false;
    await Promise.allSettled(loops);
    await foreign?.stop();
    await app?.close();
    await store.close();
    process.off("uncaughtException", onUncaught);
    process.off("unhandledRejection", onUnhandled);
  }
}

const EXPECTED = new Set([FAILOVER_STARTED, FAILOVER_COMPLETE, STORE_CONNECT, CLIENT_CLOSED]);

/**
 * What went wrong in a run, one line each: failed requests, store calls not
 * settled exactly once, errors after headers, server-side socket closes,
 * socket and response errors, uncaught exceptions, store disconnects, counts
 * skipped or lost. Empty means the run was clean.
 */
export function problems(r: LoadedFailoverOutcome): string[] {
  const out = r.happenings
    .filter((h) => !EXPECTED.has(h.what))
    .map((h) => `${h.at} ms ${h.what}: ${h.detail}`);
  for (const c of r.wrongSettles) {
    out.push(`store ${c.op}(${c.sid}) at ${c.at} ms settled ${c.settles} times ${c.error ?? ""}`);
  }
  // Failed requests are already among the happenings.
  if (r.skipped)
    out.push(`${r.skipped} responses skipped a count (a save landed, its answer did not)`);
  if (r.regressions) out.push(`${r.regressions} responses went back a count (a save was lost)`);
  if (r.lost) out.push(`${r.lost} sessions hold less than their last answered count`);
  return out;
}

/** The foreign load of the loaded scenarios: one busy child per core of the dev machine, and a Redis hammer. */
export const BUSY_MACHINE = { cpuWorkers: 2, redisWorkers: 1 } as const;

/** No request failed, nothing went wrong on the way, and the load was still served after the failover. */
export function expectCleanRun(r: LoadedFailoverOutcome): void {
  expect(problems(r), describeRun(r)).toEqual([]);
  expect(r.failed).toEqual([]);
  expect(r.storeCalls).toBeGreaterThan(0);
  const served = r.stats.successes.filter((t) => t > r.startedAt + r.readyAt).length;
  expect(served, "requests answered after the failover completed").toBeGreaterThan(0);
}

/** Logs a loaded run, adds its row to the file's report, and asserts it was clean. */
export async function recordLoadedRun(
  report: Report,
  topology: "sentinel" | "cluster",
  scenario: string,
  rep: number,
  r: LoadedFailoverOutcome,
): Promise<void> {
  console.log(`2b run ${rep}: ${describeRun(r)}`);
  await report.add(
    { topology, scenario, load: "http keep-alive", durability: "replicas:1" },
    r,
    r.startedAt + r.faultAt,
    r.lost,
  );
  expectCleanRun(r);
}

/** A run's story, for an assertion message or the log. */
export function describeRun(r: LoadedFailoverOutcome): string {
  const lines = [
    `${r.stats.attempted} requests, ${r.failed.length} failed, ${r.skipped} counts skipped, ` +
      `${r.regressions} went back, ${r.lost} sessions lost; ${r.storeCalls} store calls, ` +
      `${r.wrongSettles.length} settled other than once; started at ${r.startedAt}, failover ${r.faultAt}-${r.readyAt} ms; ` +
      `longest request ${r.stats.longestStallMs} ms`,
    ...r.happenings.map((h) => `  ${String(h.at).padStart(6)} ms  ${h.what}: ${h.detail}`),
    ...r.wrongSettles
      .slice(0, 10)
      .map((c) => `  store ${c.op}(${c.sid}) at ${c.at} ms settled ${c.settles}x ${c.error ?? ""}`),
  ];
  return lines.join("\n");
}

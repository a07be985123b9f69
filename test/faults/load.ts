/**
 * Bounded load for fault-injection tests: a store-level writer and an
 * Express app driven over HTTP. Both remember every write that was
 * acknowledged, so afterwards each one can be read back and losses counted.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import express from "express";
import session from "express-session";
import type { RedisStore } from "../../src/index.js";

export interface LoadStats {
  attempted: number;
  failed: number;
  /** Longest time one operation took, ms. */
  longestStallMs: number;
  errors: Record<string, number>;
  /** The first message seen for each error code, to say what went wrong. */
  samples: Record<string, string>;
  /** Completion times (epoch ms) of successful operations, in order. */
  successes: number[];
  /** Start/latency of operations, for latency after recovery. */
  latencies: Array<{ at: number; ms: number }>;
}

export function emptyStats(): LoadStats {
  return {
    attempted: 0,
    failed: 0,
    longestStallMs: 0,
    errors: {},
    samples: {},
    successes: [],
    latencies: [],
  };
}

export function record(stats: LoadStats, started: number, err: unknown): void {
  const now = Date.now();
  const ms = now - started;
  stats.attempted++;
  stats.longestStallMs = Math.max(stats.longestStallMs, ms);
  stats.latencies.push({ at: started, ms });
  if (err) {
    stats.failed++;
    const code = (err as { code?: string }).code ?? (err as Error).message ?? String(err);
    stats.errors[code] = (stats.errors[code] ?? 0) + 1;
    if (!(code in stats.samples)) {
      const cause = (err as { cause?: Error }).cause;
      stats.samples[code] =
        `${(err as Error).message}${cause ? ` <- ${cause.name}: ${cause.message}` : ""}`;
    }
  } else {
    stats.successes.push(now);
  }
}

/** First success that completed after `t`, minus `t` (ms); undefined if none. */
export function firstSuccessAfter(stats: LoadStats, t: number): number | undefined {
  const hit = stats.successes.find((s) => s > t);
  return hit === undefined ? undefined : hit - t;
}

/** Median latency of operations started after `t`. */
export function medianLatencyAfter(stats: LoadStats, t: number): number | undefined {
  const ms = stats.latencies
    .filter((l) => l.at > t)
    .map((l) => l.ms)
    .sort((a, b) => a - b);
  return ms.length === 0 ? undefined : ms[Math.floor(ms.length / 2)];
}

export interface Load {
  stats: LoadStats;
  stop(): Promise<void>;
  /** Reads every acknowledged write back; returns how many are missing or older. */
  lost(reader: RedisStore): Promise<number>;
  acknowledged(): number;
}

const MAX_OPS = 200_000;

/**
 * `concurrency` workers, each updating its own 50 sessions with increasing
 * versions until stopped (bounded by MAX_OPS and `maxMs`).
 */
export function storeWriter(
  store: RedisStore,
  opts: { concurrency?: number; maxMs?: number; tag?: string } = {},
): Load {
  const stats = emptyStats();
  const acked = new Map<string, number>();
  const concurrency = opts.concurrency ?? 8;
  const deadline = Date.now() + (opts.maxMs ?? 60_000);
  let running = true;
  let ops = 0;
  const worker = async (w: number) => {
    let version = 0;
    while (running && ops < MAX_OPS && Date.now() < deadline) {
      ops++;
      version++;
      const sid = `${opts.tag ?? "w"}${w}-${version % 50}`;
      const started = Date.now();
      let error: unknown;
      try {
        await store.set(sid, { cookie: { originalMaxAge: null }, version } as never);
        acked.set(sid, version);
      } catch (err) {
        error = err;
      }
      record(stats, started, error);
      // Fast failures must not turn into a tight loop that starves the event loop.
      if (error) await new Promise((r) => setTimeout(r, 5));
    }
  };
  const workers = Array.from({ length: concurrency }, (_, w) => worker(w));
  return {
    stats,
    acknowledged: () => acked.size,
    async stop() {
      running = false;
      await Promise.all(workers);
    },
    async lost(reader) {
      let lost = 0;
      for (const [sid, version] of acked) {
        const got = (await reader.get(sid)) as { version?: number } | null;
        if (!got || (got.version ?? 0) < version) lost++;
      }
      return lost;
    },
  };
}

/** An Express 5 app whose every request bumps a counter in the session and saves it before answering. */
export async function startApp(
  store: RedisStore,
): Promise<{ url: string; close(): Promise<void> }> {
  const app = express();
  app.use(
    session({
      store,
      secret: "fault-tests",
      resave: false,
      saveUninitialized: false,
      name: "sid",
    }),
  );
  app.get("/bump", (req, res) => {
    if (!req.session) {
      res.status(503).json({ error: "no session store" });
      return;
    }
    const s = req.session as unknown as { n?: number };
    s.n = (s.n ?? 0) + 1;
    // Save before answering, so a 200 means the store acknowledged this count.
    req.session.save((err) => {
      if (err) res.status(500).json({ error: (err as { code?: string }).code ?? String(err) });
      else res.json({ n: s.n, sid: req.sessionID });
    });
  });
  app.use((err: Error, _req: express.Request, res: express.Response, _next: unknown) => {
    res.status(500).json({ error: (err as { code?: string }).code ?? err.message });
  });
  const server: Server = createServer(app);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** `clients` HTTP clients, each with its own cookie, requesting /bump in a loop. */
export function httpLoad(url: string, opts: { clients?: number; maxMs?: number } = {}): Load {
  const stats = emptyStats();
  const acked = new Map<string, number>();
  const deadline = Date.now() + (opts.maxMs ?? 60_000);
  let running = true;
  let ops = 0;
  const client = async () => {
    let cookie: string | undefined;
    while (running && ops < MAX_OPS && Date.now() < deadline) {
      ops++;
      const started = Date.now();
      let error: unknown;
      try {
        const res = await fetch(`${url}/bump`, {
          headers: cookie ? { cookie } : {},
          signal: AbortSignal.timeout(15_000),
        });
        const body = (await res.json()) as { n?: number; sid?: string; error?: string };
        const setCookie = res.headers.get("set-cookie");
        if (setCookie) cookie = setCookie.split(";")[0];
        if (res.status !== 200) error = Object.assign(new Error(body.error), { code: body.error });
        else acked.set(body.sid!, body.n!);
      } catch (err) {
        error = err;
      }
      record(stats, started, error);
      if (error) await new Promise((r) => setTimeout(r, 5));
    }
  };
  const clients = Array.from({ length: opts.clients ?? 8 }, () => client());
  return {
    stats,
    acknowledged: () => acked.size,
    async stop() {
      running = false;
      await Promise.all(clients);
    },
    async lost(reader) {
      let lost = 0;
      for (const [sid, n] of acked) {
        const got = (await reader.get(sid)) as { n?: number } | null;
        if (!got || (got.n ?? 0) < n) lost++;
      }
      return lost;
    },
  };
}

/** Resolves once `load` has had `count` more successes (bounded by `timeoutMs`). */
export async function progress(load: Load, count = 20, timeoutMs = 15_000): Promise<void> {
  const target = load.stats.successes.length + count;
  const deadline = Date.now() + timeoutMs;
  while (load.stats.successes.length < target) {
    if (Date.now() > deadline) {
      throw new Error(
        `load made no progress: ${load.stats.successes.length}/${target} successes, errors ${JSON.stringify(load.stats.errors)}`,
      );
    }
    await new Promise((r) => setTimeout(r, 10));
  }
}

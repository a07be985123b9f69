/**
 * The app the end-to-end scenario loads, in a process of its own so that its
 * CPU time can be read apart from the load generator's. Forked by bench/e2e.ts
 * with an IPC channel; not meant to be run by hand.
 *
 *   POST /login  writes the session once (a ~1 KB profile, flags, a cart)
 *   GET  /       reads it; express-session then touches it (rolling: true)
 *
 * IPC: the parent asks `{ type: "stats" }` and gets this process's
 * `process.cpuUsage()` and how many requests it has served.
 */
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { RedisStore as ConnectRedis10 } from "connect-redis";
import { RedisStore as ConnectRedis81 } from "connect-redis-81";
import express from "express";
import session from "express-session";
import { Redis } from "ioredis";
import { createClient } from "redis";
import { APP_STORES, type AppStore, type FromApp, type ToApp } from "./lib/e2e-protocol.js";
import { typicalSession } from "./lib/sessions.js";
import { ha } from "./lib/subject.js";

async function buildStore(
  kind: AppStore,
  url: string,
): Promise<{ store: session.Store; close: () => Promise<unknown> }> {
  switch (kind) {
    case "memory":
      return { store: new session.MemoryStore(), close: async () => {} };
    case "ha":
    case "ha-touch60": {
      const store = new ha.RedisStore(kind === "ha" ? { url } : { url, touchAfter: 60 });
      return { store, close: () => store.close() };
    }
    case "cr81": {
      const client = new Redis(url);
      return { store: new ConnectRedis81({ client }), close: () => client.quit() };
    }
    case "cr10": {
      const client = createClient({ url });
      client.on("error", () => {});
      await client.connect();
      return { store: new ConnectRedis10({ client }), close: () => client.close() };
    }
  }
}

/** The session fields a login writes: everything in the typical session but its cookie. */
function profileFields(n: number): Record<string, unknown> {
  const { cookie: _cookie, ...fields } = typicalSession(n) as unknown as Record<string, unknown>;
  return fields;
}

interface Profile {
  user?: { id: number; name: string; roles: string[] };
  cart?: unknown[];
}

async function main(): Promise<void> {
  const kind = process.env.BENCH_APP_STORE as AppStore;
  const url = process.env.BENCH_REDIS_URL ?? "";
  if (!APP_STORES.includes(kind)) throw new TypeError(`Unknown BENCH_APP_STORE \`${kind}\``);
  const { store, close } = await buildStore(kind, url);

  const send = (message: FromApp) => process.send?.(message);
  let requests = 0;
  let inflight = 0;
  let statsWanted = false;
  let logins = 0;
  const app = express();
  const sendStats = () => send({ type: "stats", cpu: process.cpuUsage(), requests });
  app.use((_req, res, next) => {
    requests++;
    inflight++;
    res.once("close", () => {
      inflight--;
      // Stats are read between rounds: once the requests still in flight when
      // the load stopped are done, so their commands count in their round.
      if (inflight === 0 && statsWanted) {
        statsWanted = false;
        sendStats();
      }
    });
    next();
  });
  app.use(
    session({
      store,
      name: "sid",
      secret: "connect-redis-ha benchmark secret",
      resave: false,
      saveUninitialized: false,
      rolling: true,
      cookie: { maxAge: 86_400_000, httpOnly: true, sameSite: "lax" },
    }),
  );
  app.post("/login", (req, res) => {
    Object.assign(req.session, profileFields(++logins));
    res.json({ ok: true });
  });
  app.get("/", (req, res) => {
    const s = req.session as unknown as Profile;
    if (!s.user) {
      res.status(401).json({ error: "no session" });
      return;
    }
    res.json({
      id: s.user.id,
      name: s.user.name,
      roles: s.user.roles.length,
      cart: s.cart?.length ?? 0,
    });
  });

  const server: Server = await new Promise((resolve) => {
    const s = app.listen(0, "127.0.0.1", () => resolve(s));
  });

  process.on("message", (message: ToApp) => {
    if (message.type === "stats") {
      if (inflight === 0) sendStats();
      else statsWanted = true;
    } else if (message.type === "close") {
      server.closeAllConnections();
      server.close();
      void close()
        .catch(() => {})
        .finally(() => process.exit(0));
    }
  });
  // The parent is gone (crashed or killed): do not linger.
  process.on("disconnect", () => process.exit(0));
  send({ type: "ready", port: (server.address() as AddressInfo).port });
}

main().catch((err: unknown) => {
  process.send?.({
    type: "error",
    message: String((err as Error)?.stack ?? err),
  } satisfies FromApp);
  process.exit(1);
});

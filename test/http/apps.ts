/**
 * The same small session app on Express 5, Express 4 and Fastify, each
 * listening on 127.0.0.1 port 0. Every route answers JSON that says what the
 * app believes about the session, so a test can compare it with the store.
 *
 *   GET  /me          the session as it is, unchanged
 *   GET  /count       count += 1
 *   POST /login       { user } into the session
 *   POST /regenerate  a new session id carrying user and count over
 *   POST /logout      destroys the session and clears the cookie
 *   GET  /probe       whether the request got a session at all
 */
import { once } from "node:events";
import { createServer, type RequestListener } from "node:http";
import type { AddressInfo } from "node:net";
import fastifyCookie from "@fastify/cookie";
import fastifySession from "@fastify/session";
import express5 from "express";
import session from "express-session";
import express4 from "express4";
import Fastify, { type FastifyRequest } from "fastify";
import type { RedisStore } from "../../src/index.js";

declare module "express-session" {
  interface SessionData {
    user?: string;
    count?: number;
  }
}

declare module "fastify" {
  interface Session {
    user?: string;
    count?: number;
  }
}

export const FRAMEWORKS = ["express5", "express4", "fastify"] as const;
export type Framework = (typeof FRAMEWORKS)[number];

/** Both session middlewares sign with it; @fastify/session wants 32+ characters. */
export const SESSION_SECRET = "connect-redis-ha test secret, not for production";
export const COOKIE_NAME = "sid";
const MAX_AGE_MS = 10 * 60_000;

export interface SessionView {
  sid?: string;
  user?: string;
  count?: number;
  hasSession?: boolean;
  oldSid?: string;
}

export interface RunningApp {
  framework: Framework;
  url: string;
  close(): Promise<void>;
}

export function startApp(framework: Framework, store: RedisStore): Promise<RunningApp> {
  if (framework === "fastify") return startFastify(store);
  return listen(framework, expressApp(framework === "express5" ? express5 : express4, store));
}

/** Express 4 and 5 get the same code: the session API did not change between them. */
export function expressApp(express: typeof express5, store: RedisStore) {
  const app = express();
  app.use(express.json());
  app.use(
    session({
      store,
      name: COOKIE_NAME,
      secret: SESSION_SECRET,
      resave: false,
      saveUninitialized: false,
      cookie: { maxAge: MAX_AGE_MS, secure: false, sameSite: "lax" },
    }),
  );

  const view = (req: express5.Request): SessionView => ({
    sid: req.session ? req.sessionID : undefined,
    user: req.session?.user,
    count: req.session?.count,
    hasSession: req.session !== undefined,
  });

  app.get("/probe", (req, res) => {
    res.json({ hasSession: req.session !== undefined });
  });
  app.get("/me", (req, res) => {
    res.json(view(req));
  });
  app.get("/count", (req, res) => {
    req.session.count = (req.session.count ?? 0) + 1;
    res.json(view(req));
  });
  app.post("/login", (req, res) => {
    req.session.user = String(req.body?.user ?? "");
    res.json(view(req));
  });
  app.post("/regenerate", (req, res, next) => {
    const { user, count } = req.session;
    const oldSid = req.sessionID;
    req.session.regenerate((err) => {
      if (err) return next(err);
      req.session.user = user;
      req.session.count = count;
      res.json({ ...view(req), oldSid });
    });
  });
  app.post("/logout", (req, res, next) => {
    const oldSid = req.sessionID;
    req.session.destroy((err) => {
      if (err) return next(err);
      res.clearCookie(COOKIE_NAME);
      res.json({ oldSid });
    });
  });
  app.use(
    (err: Error, _req: express5.Request, res: express5.Response, _next: express5.NextFunction) => {
      res.status(500).json({ error: err.message });
    },
  );
  return app;
}

async function startFastify(store: RedisStore): Promise<RunningApp> {
  const app = Fastify();
  await app.register(fastifyCookie);
  await app.register(fastifySession, {
    store,
    cookieName: COOKIE_NAME,
    secret: SESSION_SECRET,
    saveUninitialized: false,
    cookie: { maxAge: MAX_AGE_MS, secure: false, sameSite: "lax" },
  });

  const view = (req: FastifyRequest): SessionView => ({
    sid: req.session?.sessionId,
    user: req.session?.user,
    count: req.session?.count,
    hasSession: Boolean(req.session),
  });

  app.get("/probe", async (req) => ({ hasSession: Boolean(req.session) }));
  app.get("/me", async (req) => view(req));
  app.get("/count", async (req) => {
    req.session.count = (req.session.count ?? 0) + 1;
    return view(req);
  });
  app.post<{ Body: { user?: string } }>("/login", async (req) => {
    req.session.user = String(req.body?.user ?? "");
    return view(req);
  });
  app.post("/regenerate", async (req) => {
    const oldSid = req.session.sessionId;
    // Keeps the named fields, destroys the old id in the store, saves the new one.
    await req.session.regenerate(["user", "count"]);
    return { ...view(req), oldSid };
  });
  app.post("/logout", async (req, reply) => {
    const oldSid = req.session.sessionId;
    await req.session.destroy();
    reply.clearCookie(COOKIE_NAME, { path: "/" });
    return { oldSid };
  });

  await app.listen({ host: "127.0.0.1", port: 0 });
  const { port } = app.server.address() as AddressInfo;
  return {
    framework: "fastify",
    url: `http://127.0.0.1:${port}`,
    close: () => app.close(),
  };
}

/** Serves a request listener on 127.0.0.1 port 0; close() also drops keep-alive sockets. */
export async function listen(framework: Framework, handler: RequestListener): Promise<RunningApp> {
  const server = createServer(handler);
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as AddressInfo;
  return {
    framework,
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
  };
}

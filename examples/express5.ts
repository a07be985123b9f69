/**
 * Express 5 with express-session on connect-redis-ha.
 *
 *   REDIS_URL=redis-cluster://127.0.0.1:7000 npx tsx examples/express5.ts
 *
 * Routes: `/` counts your visits, `/login?user=<name>`, `/logout`, and
 * `/logout-everywhere` ("sign out of all other devices", needs a store with
 * `indexBy`, as created below).
 * In your app, import from "connect-redis-ha" instead of "../src/index.js".
 */
import { pathToFileURL } from "node:url";
import express from "express";
import session from "express-session";
import { RedisStore } from "../src/index.js";

declare module "express-session" {
  interface SessionData {
    user?: string;
    views?: number;
  }
}

export const SESSION_COOKIE = "connect.sid";

/** The per-user index key of a session: who is logged in, if anyone. */
export const userOf = (session: { user?: string }) => session.user;

export function createApp(store: RedisStore) {
  const app = express();
  app.use(
    session({
      store,
      name: SESSION_COOKIE,
      secret: process.env.SESSION_SECRET ?? "replace me with a long random secret",
      // The store refreshes TTLs through touch(), so unchanged sessions need no rewrite.
      resave: false,
      // No Redis key for visitors who never store anything.
      saveUninitialized: false,
      // "auto": Secure over HTTPS. Behind a TLS proxy, also app.set("trust proxy", 1).
      cookie: { maxAge: 24 * 60 * 60 * 1000, sameSite: "lax", secure: "auto" },
    }),
  );

  app.get("/", (req, res) => {
    req.session.views = (req.session.views ?? 0) + 1;
    res.json({ user: req.session.user ?? null, views: req.session.views });
  });

  app.get("/login", (req, res, next) => {
    const user = typeof req.query.user === "string" ? req.query.user : "";
    if (!user) {
      res.status(400).json({ error: "Pass the user name: /login?user=<name>" });
      return;
    }
    // A fresh session id on login, so a sid planted before login is worthless after it.
    req.session.regenerate((err) => {
      if (err) return next(err);
      req.session.user = user;
      res.json({ user });
    });
  });

  // "Sign out of all other devices": every session of this user except this one.
  app.get("/logout-everywhere", async (req, res) => {
    const user = req.session.user;
    if (!user) {
      res.status(401).json({ error: "Log in first: /login?user=<name>" });
      return;
    }
    const signedOut = await store.destroyFor(user, { except: req.sessionID });
    res.json({ user, signedOut });
  });

  app.get("/logout", (req, res, next) => {
    req.session.destroy((err) => {
      if (err) return next(err);
      res.clearCookie(SESSION_COOKIE);
      res.json({ user: null });
    });
  });

  return app;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  // REDIS_URL when set, else redis://127.0.0.1:6379; the topology is detected.
  const store = new RedisStore({ indexBy: userOf });
  const port = Number(process.env.PORT ?? 3000);
  const server = createApp(store).listen(port, "127.0.0.1", () => {
    console.log(`Express 5 example on http://127.0.0.1:${port}/`);
  });
  process.once("SIGINT", () => {
    server.close();
    server.closeAllConnections();
    void store.close();
  });
}

/**
 * Express 4 with express-session on connect-redis-ha.
 *
 *   REDIS_URL=redis-cluster://127.0.0.1:7000 npx tsx examples/express4.ts
 *
 * Routes: `/` counts your visits, `/login?user=<name>`, `/logout`.
 * In your app, import from "connect-redis-ha" instead of "../src/index.js".
 */
import { pathToFileURL } from "node:url";
import session from "express-session";
// In your app: import express from "express" (4.x). Here "express4" is an alias of express 4.
import express from "express4";
import { RedisStore } from "../src/index.js";

declare module "express-session" {
  interface SessionData {
    user?: string;
    views?: number;
  }
}

export const SESSION_COOKIE = "connect.sid";

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
  const store = new RedisStore();
  const port = Number(process.env.PORT ?? 3000);
  const server = createApp(store).listen(port, "127.0.0.1", () => {
    console.log(`Express 4 example on http://127.0.0.1:${port}/`);
  });
  process.once("SIGINT", () => {
    server.close();
    server.closeAllConnections();
    void store.close();
  });
}

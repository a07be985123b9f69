/**
 * Fastify with @fastify/cookie + @fastify/session on connect-redis-ha: the
 * store speaks both express-session's and @fastify/session's store contract.
 *
 *   REDIS_URL=redis-sentinel://127.0.0.1:26379#mymaster npx tsx examples/fastify.ts
 *
 * Routes: `/` counts your visits, `/login?user=<name>`, `/logout`.
 * In your app, import from "connect-redis-ha" instead of "../src/index.js".
 */
import { pathToFileURL } from "node:url";
import fastifyCookie from "@fastify/cookie";
import fastifySession from "@fastify/session";
import Fastify from "fastify";
import { RedisStore } from "../src/index.js";

declare module "fastify" {
  interface Session {
    user?: string;
    views?: number;
  }
}

export const SESSION_COOKIE = "sessionId";

export async function createApp(store: RedisStore) {
  const app = Fastify();
  await app.register(fastifyCookie);
  await app.register(fastifySession, {
    store,
    cookieName: SESSION_COOKIE,
    // @fastify/session requires at least 32 characters.
    secret: process.env.SESSION_SECRET ?? "replace me with a long random secret, 32+ chars",
    saveUninitialized: false,
    // @fastify/session defaults to Secure cookies, which browsers drop over plain HTTP.
    cookie: { maxAge: 24 * 60 * 60 * 1000, sameSite: "lax", secure: "auto" },
  });

  app.get("/", async (req) => {
    req.session.views = (req.session.views ?? 0) + 1;
    return { user: req.session.user ?? null, views: req.session.views };
  });

  app.get<{ Querystring: { user?: string } }>("/login", async (req, reply) => {
    const user = req.query.user ?? "";
    if (!user) return reply.code(400).send({ error: "Pass the user name: /login?user=<name>" });
    // A fresh session id on login, so a sid planted before login is worthless after it.
    await req.session.regenerate();
    req.session.user = user;
    return { user };
  });

  app.get("/logout", async (req, reply) => {
    await req.session.destroy();
    reply.clearCookie(SESSION_COOKIE, { path: "/" });
    return { user: null };
  });

  return app;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  // REDIS_URL when set, else redis://127.0.0.1:6379; the topology is detected.
  const store = new RedisStore();
  const app = await createApp(store);
  const port = Number(process.env.PORT ?? 3000);
  await app.listen({ host: "127.0.0.1", port });
  console.log(`Fastify example on http://127.0.0.1:${port}/`);
  process.once("SIGINT", () => {
    void app.close().then(() => store.close());
  });
}

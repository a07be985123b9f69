/**
 * `npm start`: one of the example apps on whatever Redis it can find.
 *
 *   npm start                      Express 5
 *   npm start -- express4          Express 4
 *   npm start -- fastify           Fastify
 *
 * Redis: REDIS_URL when set (any scheme: redis://, redis-sentinel://,
 * redis-cluster://...); else 127.0.0.1:6379 when it answers PING; else a
 * throwaway redis-server started by the test harness and stopped on Ctrl-C.
 * HTTP listens on 127.0.0.1, port PORT (default 3000).
 */
import { connect } from "node:net";
import { pathToFileURL } from "node:url";
import { RedisStore } from "../src/index.js";

const LOCAL = { host: "127.0.0.1", port: 6379 };

/** True when something at host:port answers a RESP PING with PONG within `timeoutMs`. */
export function answersPing(host: string, port: number, timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    let reply = "";
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once("error", () => done(false));
    socket.once("connect", () => socket.write("PING\r\n"));
    socket.on("data", (chunk) => {
      reply += chunk.toString("latin1");
      if (reply.includes("\r\n")) done(reply.startsWith("+PONG"));
    });
  });
}

export interface FoundRedis {
  url: string;
  /** Where the URL came from, for the banner. */
  source: string;
  /** Stops a server this script started; undefined when the server is not ours. */
  stop?: () => Promise<void>;
}

export async function findRedis(local = LOCAL): Promise<FoundRedis> {
  const fromEnv = process.env.REDIS_URL;
  if (fromEnv) return { url: fromEnv, source: "REDIS_URL" };
  if (await answersPing(local.host, local.port)) {
    return { url: `redis://${local.host}:${local.port}`, source: "a Redis answering PING" };
  }
  // Loaded only when needed: the harness starts redis-server from PATH (or a container).
  const { startStandalone } = await import("../test/support/index.js");
  const topology = await startStandalone();
  return {
    url: topology.url,
    source: `a redis-server started for this demo (${topology.provider})`,
    stop: () => topology.stop(),
  };
}

interface Running {
  close(): Promise<void>;
}

async function serve(framework: string, store: RedisStore, port: number): Promise<Running> {
  if (framework === "fastify") {
    const { createApp } = await import("./fastify.js");
    const app = await createApp(store);
    await app.listen({ host: "127.0.0.1", port });
    return { close: () => app.close() };
  }
  const { createApp } =
    framework === "express4" ? await import("./express4.js") : await import("./express5.js");
  const server = createApp(store).listen(port, "127.0.0.1");
  await new Promise<void>((resolve, reject) => {
    server.once("listening", resolve);
    server.once("error", reject);
  });
  return {
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

async function main(): Promise<void> {
  const framework = process.argv[2] ?? "express5";
  if (!["express5", "express4", "fastify"].includes(framework)) {
    console.error(`Unknown app "${framework}"; pick express5, express4 or fastify.`);
    process.exitCode = 64;
    return;
  }
  const port = Number(process.env.PORT ?? 3000);
  const redis = await findRedis();
  // indexBy powers the Express example's /logout-everywhere route.
  const store = new RedisStore({ url: redis.url, indexBy: (s: { user?: string }) => s.user });
  let http: Running | undefined;
  let stopping = false;
  const shutdown = async () => {
    if (stopping) return;
    stopping = true;
    console.log("\nStopping...");
    await http?.close();
    await store.close();
    await redis.stop?.();
  };
  process.once("SIGINT", () => void shutdown());
  process.once("SIGTERM", () => void shutdown());

  try {
    // The first command settles the topology (auto-detected from a plain redis:// URL).
    await store.get("connect-redis-ha:start-probe");
    http = await serve(framework, store, port);
  } catch (err) {
    console.error(`Could not start: ${(err as Error).message}`);
    process.exitCode = 1;
    await shutdown();
    return;
  }
  console.log(`Redis:    ${redis.url} (${store.topology}, from ${redis.source})`);
  console.log(`App:      ${framework}`);
  console.log(`Open:     http://127.0.0.1:${port}/  then /login?user=alice and /logout`);
  console.log("Ctrl-C stops it.");
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await main();
}

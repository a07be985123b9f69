/**
 * Standalone faults and bad input: a full outage longer than the grace,
 * a connection cut mid-reply, huge sessions, racing writers.
 */
import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { RedisStore } from "../../src/index.js";
import { progress, storeWriter } from "../faults/load.js";
import { startCuttingProxy } from "../faults/proxy.js";
import { Report } from "../faults/report.js";
import { nextEvent } from "../helpers/events.js";
import { type StandaloneTopology, startStandalone } from "../support/index.js";

let topology: StandaloneTopology;
const stores: RedisStore[] = [];
const report = new Report("standalone-faults");

beforeAll(async () => {
  topology = await startStandalone();
});

afterEach(async () => {
  for (const s of stores.splice(0)) {
    await s.clear().catch(() => {});
    await s.close();
  }
});

afterAll(async () => {
  report.flush();
  await topology?.stop();
});

function store(opts: ConstructorParameters<typeof RedisStore>[0] = {}): RedisStore {
  const s = new RedisStore({
    url: topology.url,
    prefix: `f-${randomUUID().slice(0, 6)}:`,
    ...opts,
  });
  stores.push(s);
  return s;
}

describe("standalone faults", () => {
  it("7. Redis stopped past the grace: disconnect, then connect and writes again after restart", async () => {
    const s = store({ disconnectGraceMs: 300 });
    const writer = storeWriter(s, { concurrency: 4 });
    let readyAt = 0;
    try {
      await progress(writer, 30);
      const disconnected = nextEvent(s, "disconnect", 10_000);
      const faultAt = Date.now();
      await topology.node.kill();
      await disconnected;
      const reconnected = nextEvent(s, "connect", 10_000);
      await topology.node.restart();
      await reconnected;
      readyAt = Date.now();
      await progress(writer, 30);
      await writer.stop();
      await report.add(
        {
          topology: "standalone",
          scenario: "7 Redis down past grace",
          load: "store",
          durability: "none",
        },
        writer,
        faultAt,
        0, // the node keeps nothing across a restart; losses here are the outage itself
      );
    } finally {
      await writer.stop(); // also when a step above failed
    }
    const first = writer.stats.successes.find((t) => t > readyAt - 1);
    expect(first).toBeDefined();
    // Writes issued after the restart succeed promptly.
    expect(first! - readyAt).toBeLessThan(2000);
  });

  it("a connection cut in the middle of a reply fails or retries that call, and the store recovers", async () => {
    const proxy = await startCuttingProxy(topology.node);
    // Not through store(): it must be closed before the proxy goes away.
    const s = new RedisStore({ url: `redis://127.0.0.1:${proxy.port}`, topology: "standalone" });
    try {
      const big = { cookie: {}, blob: "x".repeat(50_000) };
      await s.set("big", big as never);
      proxy.cutNextReply(1000);
      // GET is idempotent: the store resends it once the client reconnects.
      const got = (await s.get("big")) as { blob: string } | null;
      expect(proxy.cuts).toBe(1);
      expect(got?.blob.length).toBe(50_000);
      expect(await s.length()).toBe(1);
      await s.clear();
    } finally {
      await s.close();
      await proxy.close();
    }
  });

  it("round-trips a 5 MB session", async () => {
    const s = store();
    const blob = randomUUID().repeat((5 * 1024 * 1024) / 36);
    await s.set("huge", { cookie: {}, blob } as never);
    const got = (await s.get("huge")) as unknown as { blob: string };
    expect(got.blob.length).toBe(blob.length);
    expect(got.blob === blob).toBe(true);
  });

  it("ends concurrent set/destroy of one sid in one of the two states, never a broken value", async () => {
    const s = store();
    for (let round = 0; round < 20; round++) {
      await Promise.all([
        s.set("race", { cookie: {}, round } as never),
        s.destroy("race"),
        s.set("race", { cookie: {}, round: round + 0.5 } as never),
      ]);
      const got = (await s.get("race")) as { round: number } | null;
      // Commands on one connection apply in call order: the last set wins.
      expect(got?.round).toBe(round + 0.5);
    }
  });

  it("indexes in full again after its connection dropped (what it knew may be gone)", async () => {
    const s = store({ indexBy: (x: { user?: string }) => x.user });
    const sess = (n: number) => ({ cookie: { maxAge: 60_000 }, user: "kim", n }) as never;
    await s.set("k1", sess(1));
    let before = s.stats().commands;
    await s.set("k1", sess(2));
    expect(s.stats().commands - before).toBe(1); // SET ... XX alone
    const admin = new Redis(topology.url);
    try {
      await admin.call("CLIENT", "KILL", "TYPE", "normal"); // every client but this one
    } finally {
      admin.disconnect();
    }
    // Answered on the new connection, so the old one's "close" came first.
    expect(await s.get("k1")).toMatchObject({ n: 2 });
    before = s.stats().commands;
    await s.set("k1", sess(3));
    expect(s.stats().commands - before).toBe(2); // SET and the index call
    expect(await s.idsFor("kim")).toEqual(["k1"]);
  });

  it("fails a call to a Redis that died within the client's budget, not ioredis' ~73 s", async () => {
    const doomed = await startStandalone();
    const s = new RedisStore({ url: doomed.url });
    try {
      await s.set("a", { cookie: {} } as never);
      await doomed.node.kill();
      const started = Date.now();
      await expect(s.get("a")).rejects.toMatchObject({ code: "ERR_CONNECTION" });
      const elapsed = Date.now() - started;
      // Budget with the default 2000 ms grace: max(2 x 2000, 5000) ms of 250 ms reconnects.
      expect(elapsed).toBeGreaterThan(3000);
      expect(elapsed).toBeLessThan(9000);
    } finally {
      await s.close();
      await doomed.stop();
    }
  });

  it("keeps the process alive and emits no unhandled rejection while Redis is unreachable", async () => {
    const s = store({
      url: "redis://127.0.0.1:1",
      topology: "standalone",
      disconnectGraceMs: 100,
      redisOptions: { maxRetriesPerRequest: 1, retryStrategy: () => 100 },
    });
    const unhandled: unknown[] = [];
    const onUnhandled = (e: unknown) => unhandled.push(e);
    process.on("unhandledRejection", onUnhandled);
    try {
      const disconnected = nextEvent(s, "disconnect", 10_000);
      await expect(s.get("x")).rejects.toMatchObject({ code: "ERR_CONNECTION" });
      await expect(s.touch("x", { cookie: {} } as never)).rejects.toMatchObject({
        code: "ERR_CONNECTION",
      });
      await disconnected;
      expect(unhandled).toEqual([]);
    } finally {
      process.off("unhandledRejection", onUnhandled);
    }
  });
});

/**
 * Fault injection on a Sentinel group (1 master, 2 replicas, 3 sentinels)
 * under a bounded load: a store-level writer with durability, one without,
 * and an Express app (durable store) driven over HTTP. Every acknowledged
 * write is read back afterwards. Scenarios 2b and 2c are issue 11: a planned
 * failover on a busy machine (session-load.ts, foreign-load.ts), and the
 * window it exposed, a new master whose replica is still attaching.
 */
import { Redis } from "ioredis";
import { afterAll, describe, expect, it } from "vitest";
import { RedisStore } from "../../src/index.js";
import { httpLoad, type Load, progress, startApp, storeWriter } from "../faults/load.js";
import { REPETITIONS, Report } from "../faults/report.js";
import { BUSY_MACHINE, loadedFailover, recordLoadedRun } from "../faults/session-load.js";
import { type SentinelTopology, startSentinel, waitFor } from "../support/index.js";

const report = new Report("sentinel-failover");
afterAll(() => report.flush());

const DURABLE = { replicas: 1, timeoutMs: 1000 } as const;

interface Outcome {
  faultAt: number;
  /** When the topology was healthy again (new master ready). */
  readyAt: number;
}

interface Runs {
  durable: Load;
  plain: Load;
  http: Load;
  lost: { durable: number; plain: number; http: number };
  outcome: Outcome;
}

async function scenario(
  name: string,
  fault: (t: SentinelTopology) => Promise<Outcome>,
): Promise<Runs> {
  const topology = await startSentinel();
  const stores: RedisStore[] = [];
  const make = (prefix: string, durable: boolean) => {
    const s = new RedisStore({
      url: topology.url,
      prefix,
      ...(durable ? { durability: DURABLE } : {}),
    });
    stores.push(s);
    return s;
  };
  let app: Awaited<ReturnType<typeof startApp>> | undefined;
  // Stopped in `finally` too: a failed step must not leave them writing into later tests.
  const loads: Load[] = [];
  try {
    const durableStore = make("d:", true);
    const plainStore = make("p:", false);
    app = await startApp(make("h:", true));
    const durable = storeWriter(durableStore, { tag: "d" });
    const plain = storeWriter(plainStore, { tag: "p" });
    const http = httpLoad(app.url);
    loads.push(durable, plain, http);
    await Promise.all(loads.map((l) => progress(l, 50)));
    const outcome = await fault(topology);
    // Recovered means: every load has succeeded again after the topology healed.
    await Promise.all(loads.map((l) => progress(l, 50, 20_000)));
    await Promise.all(loads.map((l) => l.stop()));
    const lost = {
      durable: await durable.lost(make("d:", false)),
      plain: await plain.lost(make("p:", false)),
      http: await http.lost(make("h:", false)),
    };
    await report.addRuns("sentinel", name, outcome.faultAt, [
      ["store", "replicas:1", durable, lost.durable],
      ["http", "replicas:1", http, lost.http],
      ["store", "none", plain, lost.plain],
    ]);
    return { durable, plain, http, lost, outcome };
  } finally {
    await Promise.all(loads.map((l) => l.stop()));
    await app?.close();
    await Promise.all(stores.map((s) => s.close()));
    await topology.stop();
  }
}

/** The first success after the fault came at most 1 s after the new master was ready. */
function expectPromptRecovery(load: Load, outcome: Outcome): void {
  const first = load.stats.successes.find((t) => t > outcome.faultAt);
  expect(first).toBeDefined();
  expect(first! - outcome.readyAt).toBeLessThan(1000);
  // Nothing can succeed while there is no master: a first success this early would mean
  // the fault was timed wrong and the check proves nothing.
  expect(first! - outcome.faultAt).toBeGreaterThan(500);
}

/** Replicas the node behind `client` reports online (INFO replication). */
async function onlineReplicasOf(client: Redis): Promise<number> {
  const info = String(await client.info("replication"));
  return info.split("\n").filter((l) => /^slave\d+:.*state=online/.test(l)).length;
}

async function roleOf(host: string, port: number): Promise<string> {
  const r = new Redis({ host, port, lazyConnect: true, maxRetriesPerRequest: 0 });
  try {
    await r.connect();
    const role = (await r.call("ROLE")) as unknown[];
    return String(role[0]);
  } finally {
    r.disconnect();
  }
}

describe("sentinel failover under load", () => {
  for (let rep = 1; rep <= REPETITIONS; rep++) {
    it(`1. SIGKILL of the master loses no acknowledged write (run ${rep})`, async () => {
      const r = await scenario("1 master SIGKILL", async (t) => {
        const master = await t.currentMaster();
        await master.kill();
        // After the kill resolves the old master answers nothing: a success from here on was
        // served by the new one.
        const faultAt = Date.now();
        await t.waitForNewMaster(master);
        return { faultAt, readyAt: Date.now() };
      });
      expect(r.lost.durable).toBe(0);
      expect(r.lost.http).toBe(0);
      expectPromptRecovery(r.durable, r.outcome);
      expectPromptRecovery(r.plain, r.outcome);
    });

    it(`2. a planned SENTINEL FAILOVER fails nothing and loses nothing (run ${rep})`, async () => {
      const r = await scenario("2 SENTINEL FAILOVER", async (t) => {
        const faultAt = Date.now();
        await t.failover();
        return { faultAt, readyAt: Date.now() };
      });
      for (const load of [r.durable, r.http, r.plain]) expect(load.stats.failed).toBe(0);
      expect(r.lost).toEqual({ durable: 0, plain: 0, http: 0 });
    });

    it(`2b. a planned SENTINEL FAILOVER on a busy machine resets no HTTP connection (run ${rep})`, async () => {
      const topology = await startSentinel();
      try {
        const r = await loadedFailover({
          url: topology.url,
          foreign: BUSY_MACHINE,
          fault: async () => {
            await topology.failover();
          },
        });
        await recordLoadedRun(report, "sentinel", "2b SENTINEL FAILOVER, busy machine", rep, r);
      } finally {
        await topology.stop();
      }
    });

    it(`3. a master frozen past down-after comes back as a replica and loses nothing (run ${rep})`, async () => {
      const r = await scenario("3 master SIGSTOP/SIGCONT", async (t) => {
        const master = await t.currentMaster();
        const faultAt = Date.now();
        master.pause();
        await t.waitForNewMaster(master);
        const readyAt = Date.now();
        master.resume();
        await waitFor("the old master to rejoin as a replica", async () =>
          (await roleOf(master.host, master.port)) === "slave" ? true : undefined,
        );
        return { faultAt, readyAt };
      });
      expect(r.lost.durable).toBe(0);
      expect(r.lost.http).toBe(0);
    });

    it(`4. replicas paused, then the master killed: durable writes fail instead of being lost (run ${rep})`, async () => {
      const r = await scenario("4 replicas paused + master SIGKILL", async (t) => {
        const replicas = await t.replicas();
        const master = await t.currentMaster();
        for (const r of replicas) r.pause();
        // The fault's length, not a wait for readiness: writes pile up on the
        // master while no replica can take them.
        await new Promise((r) => setTimeout(r, 1500));
        const faultAt = Date.now();
        await master.kill();
        for (const r of replicas) r.resume();
        await t.waitForNewMaster(master);
        return { faultAt, readyAt: Date.now() };
      });
      expect(r.lost.durable).toBe(0);
      expect(r.lost.http).toBe(0);
      // The writes during the pause were refused, not acknowledged.
      expect(r.durable.stats.errors.ERR_REPLICATION_SHORTFALL ?? 0).toBeGreaterThan(0);
    });
  }

  it("2c. writes held through a planned failover succeed while the new master's replica is still attaching", async () => {
    // Issue 11, made certain instead of likely: on a busy machine the promoted
    // master can still be without its replica when the store reaches it. Here
    // the other replica is frozen through the failover and pointed at the new
    // master only once the store's connection is there, so it attaches a few
    // hundred ms late, as it did under load.
    const topology = await startSentinel();
    const stores: RedisStore[] = [];
    const [promoted, late] = await topology.replicas();
    let writer: Load | undefined;
    const admin = new Redis({ host: late!.host, port: late!.port, maxRetriesPerRequest: 0 });
    // Its connection dies with the topology at the end.
    admin.on("error", () => {});
    try {
      // Never promoted, so the frozen one is the replica left attaching.
      await admin.config("SET", "replica-priority", "0");
      const store = new RedisStore({ url: topology.url, prefix: "late:", durability: DURABLE });
      stores.push(store);
      writer = storeWriter(store, { tag: "late" });
      await progress(writer, 50);

      late!.pause();
      const failover = topology.failover();
      const seenAtSwitch = new Promise<number>((resolve, reject) => {
        store.client!.once("ready", async () => {
          try {
            // Sent after the store's own probe of the new master: it sees what that probe saw.
            resolve(await onlineReplicasOf(store.client as Redis));
          } catch (err) {
            reject(err);
          } finally {
            late!.resume();
            // The sentinels gave up on it while it was frozen; this is their late reconfiguration.
            await admin.call("REPLICAOF", promoted!.host, String(promoted!.port)).catch(() => {});
          }
        });
      });
      expect(await seenAtSwitch).toBe(0);
      expect((await failover).port).toBe(promoted!.port);
      await waitFor("the late replica to be online on the new master", async () =>
        (await onlineReplicasOf(store.client as Redis)) >= 1 ? true : undefined,
      );
      await progress(writer, 50, 20_000);
      await writer.stop();
      expect(writer.stats.errors).toEqual({});
      expect(await writer.lost(store)).toBe(0);
      await store.clear();
    } finally {
      if (late!.paused) late!.resume();
      admin.disconnect();
      await writer?.stop();
      await Promise.all(stores.map((s) => s.close()));
      await topology.stop();
    }
  });

  it("5. killing one sentinel of three goes unnoticed", async () => {
    const r = await scenario("5 one sentinel SIGKILL", async (t) => {
      const faultAt = Date.now();
      await t.sentinels[0]!.kill();
      return { faultAt, readyAt: faultAt };
    });
    for (const load of [r.durable, r.plain, r.http]) expect(load.stats.failed).toBe(0);
    expect(r.lost).toEqual({ durable: 0, plain: 0, http: 0 });
  });
});

import { Cluster, Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ClusterTopology, type NodeHandle, startCluster, waitFor } from "../support/index.js";

const KEYS = 200;
const keyAt = (i: number) => `smoke:cluster:${i}`;

describe("cluster harness", () => {
  let topology: ClusterTopology;
  let cluster: Cluster;

  /** Keys of the smoke set whose slots `master` owns right now. */
  async function keysOwnedBy(master: NodeHandle, limit = 10): Promise<string[]> {
    const owned: string[] = [];
    for (let i = 0; i < KEYS && owned.length < limit; i++) {
      if ((await topology.slotOwner(keyAt(i))).port === master.port) owned.push(keyAt(i));
    }
    return owned;
  }

  beforeAll(async () => {
    topology = await startCluster();
    cluster = new Cluster(topology.nodes.map(({ host, port }) => ({ host, port })));
    // Killed and paused nodes make the client log connection errors while it re-routes.
    cluster.on("error", () => {});
  });

  afterAll(async () => {
    cluster?.disconnect();
    await topology?.stop();
  });

  it("starts 3 masters with a replica each, and a cluster client reads and writes many keys", async () => {
    expect(topology.nodes).toHaveLength(6);
    expect(topology.url.split(",")).toHaveLength(6);
    const masters = await topology.masters();
    expect(masters).toHaveLength(3);
    for (const master of masters) expect(await topology.replicaOf(master)).toBeDefined();

    await Promise.all(Array.from({ length: KEYS }, (_, i) => cluster.set(keyAt(i), String(i))));
    const values = await Promise.all(Array.from({ length: KEYS }, (_, i) => cluster.get(keyAt(i))));
    expect(values).toEqual(Array.from({ length: KEYS }, (_, i) => String(i)));
    const owners = new Set<number>();
    for (let i = 0; i < 30; i++) owners.add((await topology.slotOwner(keyAt(i))).port);
    expect(owners.size).toBe(3);
  });

  it("promotes the replica of a SIGKILLed master, which then serves its slots", async (ctx) => {
    if (!topology.controllable) ctx.skip();
    const victim = await topology.slotOwner(keyAt(0));
    const replica = await topology.replicaOf(victim);
    expect(replica).toBeDefined();
    const keys = await keysOwnedBy(victim);

    const started = Date.now();
    await victim.kill();
    const successor = await topology.waitForFailover(victim);
    ctx.annotate(`failover after SIGKILL took ${Date.now() - started} ms`);

    expect(successor.port).toBe(replica!.port);
    await Promise.all(keys.map((key) => cluster.set(key, "after-failover")));
    for (const key of keys) {
      expect(await cluster.get(key)).toBe("after-failover");
      expect((await topology.slotOwner(key)).port).toBe(successor.port);
    }
  });

  it("restart() brings the killed master back as a replica of its successor", async (ctx) => {
    if (!topology.controllable) ctx.skip();
    const dead = topology.nodes.find((n) => !n.alive);
    expect(dead).toBeDefined();
    await dead!.restart();
    const successor = await topology.slotOwner(keyAt(0));
    await waitFor("the restarted node to rejoin as replica", async () => {
      const replica = await topology.replicaOf(successor);
      return replica?.port === dead!.port;
    });
    await topology.waitForClusterOk();
  });

  it("failoverTo() hands a master's slots to its replica", async () => {
    const master = await topology.slotOwner(keyAt(1));
    const replica = await topology.replicaOf(master);
    expect(replica).toBeDefined();
    await topology.failoverTo(replica!);
    expect((await topology.slotOwner(keyAt(1))).port).toBe(replica!.port);
    expect((await topology.masters()).map((m) => m.port)).not.toContain(master.port);
    await cluster.set(keyAt(1), "after-manual-failover");
    expect(await cluster.get(keyAt(1))).toBe("after-manual-failover");
  });

  it("migrateSlot() moves a slot and its keys, with ASK redirects mid-way", async () => {
    const key = "smoke:cluster:migrate";
    await cluster.set(key, "moving");
    const slot = Number(await cluster.cluster("KEYSLOT", key));
    const source = await topology.slotOwner(slot);
    const target = (await topology.masters()).find((m) => m.port !== source.port)!;

    let midway: string | null = null;
    await topology.migrateSlot(slot, target, {
      beforeFinalize: async () => {
        // The key already lives on the target; the source answers ASK and the client follows.
        midway = await cluster.get(key);
      },
    });
    expect(midway).toBe("moving");
    expect((await topology.slotOwner(key)).port).toBe(target.port);
    expect(await cluster.get(key)).toBe("moving");
    const direct = new Redis({ host: target.host, port: target.port });
    try {
      expect(await direct.get(key)).toBe("moving");
    } finally {
      direct.disconnect();
    }
  });

  it("a paused master is failed over, and resume() returns it as a replica", async (ctx) => {
    if (!topology.controllable) ctx.skip();
    const master = await topology.slotOwner(keyAt(2));
    const replica = await topology.replicaOf(master);
    master.pause();
    try {
      const successor = await topology.waitForFailover(master);
      expect(successor.port).toBe(replica!.port);
    } finally {
      master.resume();
    }
    await waitFor("the resumed node to turn replica of its successor", async () => {
      return (await topology.replicaOf(replica!))?.port === master.port;
    });
    await topology.waitForClusterOk();
    await Promise.all(Array.from({ length: KEYS }, (_, i) => cluster.del(keyAt(i))));
    await cluster.del("smoke:cluster:migrate");
  });
});

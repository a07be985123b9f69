import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type SentinelTopology, startSentinel, waitFor } from "../support/index.js";

describe("sentinel harness", () => {
  let topology: SentinelTopology;
  let client: Redis;

  beforeAll(async () => {
    topology = await startSentinel();
    client = new Redis({
      sentinels: topology.sentinels.map(({ host, port }) => ({ host, port })),
      name: topology.masterName,
    });
    // Killing the master makes the client log connection errors while it reconnects.
    client.on("error", () => {});
  });

  afterAll(async () => {
    client?.disconnect();
    await topology?.stop();
  });

  it("starts 1 master, 2 replicas and 3 sentinels, and a sentinel client reads and writes", async () => {
    expect(topology.sentinels).toHaveLength(3);
    expect(topology.dataNodes).toHaveLength(3);
    expect(topology.url).toMatch(
      /^redis-sentinel:\/\/(127\.0\.0\.1:\d+,){2}127\.0\.0\.1:\d+#mymaster$/,
    );
    const master = await topology.currentMaster();
    expect(await topology.replicas()).toHaveLength(2);
    await client.set("smoke:sentinel", "value");
    expect(await client.get("smoke:sentinel")).toBe("value");
    const direct = new Redis({ host: master.host, port: master.port });
    try {
      expect(await direct.get("smoke:sentinel")).toBe("value");
    } finally {
      direct.disconnect();
    }
  });

  it("promotes a replica after the master is SIGKILLed, and the client writes to it", async (ctx) => {
    if (!topology.controllable) ctx.skip();
    const old = await topology.currentMaster();
    await client.set("smoke:sentinel:before", "kept");
    // Both replicas hold the value, so whichever is promoted has it.
    expect(await client.wait(2, 2000)).toBe(2);

    const started = Date.now();
    await old.kill();
    const promoted = await topology.waitForNewMaster(old);
    ctx.annotate(`failover after SIGKILL took ${Date.now() - started} ms`);

    expect(promoted.port).not.toBe(old.port);
    await client.set("smoke:sentinel:after", "written");
    const direct = new Redis({ host: promoted.host, port: promoted.port });
    try {
      expect(await direct.get("smoke:sentinel:after")).toBe("written");
      expect(await direct.get("smoke:sentinel:before")).toBe("kept");
    } finally {
      direct.disconnect();
    }
  });

  it("failover() moves the master on demand", async () => {
    const old = await topology.currentMaster();
    const promoted = await topology.failover();
    expect(promoted.port).not.toBe(old.port);
    expect(promoted.port).toBe((await topology.currentMaster()).port);
    // The client follows once the old master turns replica and drops its connection.
    await client.set("smoke:sentinel:manual", "ok");
    expect(await client.get("smoke:sentinel:manual")).toBe("ok");
  });

  it("restart() brings a sentinel back, still monitoring the current master", async (ctx) => {
    if (!topology.controllable) ctx.skip();
    const sentinel = topology.sentinels[0]!;
    const master = await topology.currentMaster();
    await sentinel.restart();
    const direct = new Redis({ host: sentinel.host, port: sentinel.port });
    try {
      const named = await waitFor("the restarted sentinel to name the master", async () => {
        const addr = await direct.call("SENTINEL", "get-master-addr-by-name", topology.masterName);
        return Array.isArray(addr) ? Number(addr[1]) : undefined;
      });
      expect(named).toBe(master.port);
    } finally {
      direct.disconnect();
    }
  });
});

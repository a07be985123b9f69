import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type StandaloneTopology, startStandalone } from "../support/index.js";

describe("standalone harness", () => {
  let topology: StandaloneTopology;
  let client: Redis;

  beforeAll(async () => {
    topology = await startStandalone();
    client = new Redis(topology.url);
  });

  afterAll(async () => {
    client?.disconnect();
    await topology?.stop();
  });

  it("serves writes and reads through ioredis", async () => {
    await client.set("smoke:standalone", "value");
    expect(await client.get("smoke:standalone")).toBe("value");
    await client.del("smoke:standalone");
  });

  it("pause() freezes the node until resume()", async (ctx) => {
    if (!topology.controllable) ctx.skip();
    const probe = new Redis(topology.url, { commandTimeout: 200, maxRetriesPerRequest: 0 });
    try {
      await probe.ping();
      topology.node.pause();
      try {
        expect(topology.node.paused).toBe(true);
        await expect(probe.ping()).rejects.toThrow(/timed out/i);
      } finally {
        // A failed assertion must not leave the node frozen for the next tests.
        topology.node.resume();
      }
      expect(await client.ping()).toBe("PONG");
    } finally {
      probe.disconnect();
    }
  });

  it("restart() brings the node back on the same port with a new process", async (ctx) => {
    if (!topology.controllable) ctx.skip();
    const { pid, port } = topology.node;
    await topology.node.restart();
    expect(topology.node.alive).toBe(true);
    expect(topology.node.port).toBe(port);
    expect(topology.node.pid).not.toBe(pid);
    // The client reconnects on its own; the harness has already seen PING answered.
    expect(await client.ping()).toBe("PONG");
  });

  it("kill() waits for the exit", async (ctx) => {
    if (!topology.controllable) ctx.skip();
    await topology.node.kill();
    expect(topology.node.alive).toBe(false);
    await topology.node.restart();
    expect(await client.ping()).toBe("PONG");
  });
});

describe("standalone harness with an ACL user", () => {
  let topology: StandaloneTopology;

  beforeAll(async () => {
    topology = await startStandalone({ user: "app", password: "s3cret pass" });
  });

  afterAll(async () => {
    await topology?.stop();
  });

  it("admits the user from the URL and nobody without credentials", async () => {
    expect(topology.url).toMatch(/^redis:\/\/app:s3cret%20pass@127\.0\.0\.1:\d+$/);
    const authed = new Redis(topology.url);
    const anonymous = new Redis({
      host: topology.node.host,
      port: topology.node.port,
      lazyConnect: true,
      retryStrategy: () => null,
      maxRetriesPerRequest: 0,
    });
    anonymous.on("error", () => {});
    try {
      expect(await authed.ping()).toBe("PONG");
      expect(await authed.acl("WHOAMI")).toBe("app");
      await expect(anonymous.ping()).rejects.toThrow(/NOAUTH|NOPERM|WRONGPASS/);
    } finally {
      authed.disconnect();
      anonymous.disconnect();
    }
  });
});

/**
 * The store's connect/disconnect events and what express-session does with
 * them: past `disconnectGraceMs` without Redis, requests are served without
 * `req.session` instead of hanging; back up, sessions work again; a blip
 * shorter than the grace is invisible.
 */
import { randomUUID } from "node:crypto";
import { setTimeout as delay } from "node:timers/promises";
import express from "express";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RedisStore, type RedisStoreOptions } from "../../src/index.js";
import { nextEvent } from "../helpers/events.js";
import { expressApp, listen, type SessionView } from "../http/apps.js";
import { CookieClient } from "../http/client.js";
import { cleanupStack } from "../http/flow.js";
import { type StandaloneTopology, startStandalone } from "../support/index.js";

let topology: StandaloneTopology;

beforeAll(async () => {
  topology = await startStandalone();
});

afterAll(async () => {
  await topology?.stop();
});

/** Whatever a test did to the node, the next test gets it running. */
async function restoreNode(): Promise<void> {
  const node = topology.node;
  if (node.paused) node.resume();
  if (!node.alive) await node.restart();
}

describe("connect / disconnect events", () => {
  const defer = cleanupStack();

  function makeStore(opts: RedisStoreOptions) {
    const store = new RedisStore({
      url: topology.url,
      prefix: `events-${randomUUID().slice(0, 8)}:`,
      ...opts,
    });
    const seen: string[] = [];
    store.on("connect", () => seen.push("connect"));
    store.on("disconnect", () => seen.push("disconnect"));
    // Connection errors while Redis is down are expected here; listening keeps them off the log.
    store.on("error", () => {});
    defer(() => store.close());
    defer(() => store.clear());
    // Registered last so it runs first: clear() needs a running node.
    defer(restoreNode);
    return { store, seen };
  }

  it("emits disconnect past the grace, express-session serves without a session, connect on recovery", async () => {
    const { store, seen } = makeStore({ disconnectGraceMs: 300 });
    const connected = nextEvent(store, "connect", 5_000);
    const app = await listen("express5", expressApp(express, store));
    defer(() => app.close());
    const browser = new CookieClient(app.url);

    // Up: sessions work.
    await connected;
    expect((await browser.get<SessionView>("/count")).body.count).toBe(1);
    expect((await browser.get<SessionView>("/count")).body.count).toBe(2);

    // Down: SIGKILL drops the connection; past 300 ms the store says so.
    const disconnected = nextEvent(store, "disconnect", 5_000);
    const downAt = Date.now();
    await topology.node.kill();
    await disconnected;
    expect(Date.now() - downAt).toBeGreaterThanOrEqual(250);
    expect(seen).toEqual(["connect", "disconnect"]);

    // express-session now calls next() without a session, and the answer comes at once.
    const started = Date.now();
    const probe = await browser.request<{ hasSession: boolean }>("GET", "/probe", undefined, 5_000);
    expect(probe.status).toBe(200);
    expect(probe.body.hasSession).toBe(false);
    // Without the event, express-session would wait on store.get(), which queues until Redis is back.
    expect(Date.now() - started).toBeLessThan(2_000);

    // Back up: connect is emitted and sessions work again (the killed node lost its data).
    const reconnected = nextEvent(store, "connect", 10_000);
    await topology.node.restart();
    await reconnected;
    expect(seen).toEqual(["connect", "disconnect", "connect"]);
    browser.clearCookies();
    const res = await browser.get<SessionView>("/count");
    expect(res.body).toMatchObject({ hasSession: true, count: 1 });
    expect((await browser.get<SessionView>("/count")).body.count).toBe(2);
    expect(await store.length()).toBe(1);
  });

  it("a pause shorter than the grace emits nothing and queued commands complete", async () => {
    const { store, seen } = makeStore({ disconnectGraceMs: 2_000 });
    await store.set("before", { cookie: { originalMaxAge: null } } as never);
    expect(seen).toEqual(["connect"]);

    topology.node.pause();
    // The write is sent to a frozen server: it waits instead of failing.
    const write = store.set("during", { cookie: { originalMaxAge: null }, n: 1 } as never);
    try {
      // A 50 ms outage, well inside the 2000 ms grace, is the point of this test.
      await delay(50);
    } finally {
      topology.node.resume();
    }
    await write;
    expect(await store.get("during")).toMatchObject({ n: 1 });
    expect(store.client?.status).toBe("ready");
    expect(seen).toEqual(["connect"]);
  });

  it("a restart faster than the grace emits nothing: commands wait for the new connection", async () => {
    const { store, seen } = makeStore({ disconnectGraceMs: 5_000 });
    await store.set("before", { cookie: { originalMaxAge: null } } as never);
    expect(seen).toEqual(["connect"]);
    const client = store.client!;
    const dropped = new Promise((resolve) => client.once("close", resolve));

    await topology.node.kill();
    await dropped;
    // Issued while Redis is down: ioredis queues it until the reconnect.
    const write = store.set("during", { cookie: { originalMaxAge: null }, n: 2 } as never);
    await topology.node.restart();
    await write;
    expect(await store.get("during")).toMatchObject({ n: 2 });
    // "ready" means the store saw the recovery and cancelled its grace timer,
    // so no disconnect can follow.
    expect(client.status).toBe("ready");
    expect(seen).toEqual(["connect"]);
  });
});

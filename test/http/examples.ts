/**
 * The README's example apps (examples/*.ts), driven over HTTP the way a
 * visitor would: count, log in, count, log out.
 */
import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import * as express4Example from "../../examples/express4.js";
import * as express5Example from "../../examples/express5.js";
import * as fastifyExample from "../../examples/fastify.js";
import { RedisStore } from "../../src/index.js";
import { FRAMEWORKS, type Framework, listen, type RunningApp } from "./apps.js";
import { CookieClient } from "./client.js";
import { cleanupStack } from "./flow.js";

async function startExample(framework: Framework, store: RedisStore): Promise<RunningApp> {
  if (framework === "fastify") {
    const app = await fastifyExample.createApp(store);
    await app.listen({ host: "127.0.0.1", port: 0 });
    const address = app.server.address();
    const port = typeof address === "object" && address ? address.port : 0;
    return { framework, url: `http://127.0.0.1:${port}`, close: () => app.close() };
  }
  const example = framework === "express5" ? express5Example : express4Example;
  return listen(framework, example.createApp(store));
}

export function examplesSuite(getUrl: () => string): void {
  const defer = cleanupStack();

  describe.each(FRAMEWORKS)("examples/%s.ts", (framework) => {
    it("counts visits, logs in with a new session id, logs out", async () => {
      const store = new RedisStore({
        url: getUrl(),
        prefix: `example-${randomUUID().slice(0, 8)}:`,
      });
      defer(() => store.close());
      defer(() => store.clear());
      const app = await startExample(framework, store);
      defer(() => app.close());
      const browser = new CookieClient(app.url);

      expect((await browser.get("/")).body).toEqual({ user: null, views: 1 });
      expect((await browser.get("/")).body).toEqual({ user: null, views: 2 });
      const [anonymous] = await store.ids();
      expect(anonymous).toBeDefined();

      expect((await browser.get("/login")).status).toBe(400);
      expect((await browser.get("/login?user=alice")).body).toEqual({ user: "alice" });
      const [loggedIn] = await store.ids();
      expect(loggedIn).not.toBe(anonymous);
      expect(await store.length()).toBe(1);
      // regenerate() starts the new session empty except for the user.
      expect((await browser.get("/")).body).toEqual({ user: "alice", views: 1 });
      expect(await store.get(loggedIn!)).toMatchObject({ user: "alice", views: 1 });

      expect((await browser.get("/logout")).body).toEqual({ user: null });
      expect(await store.length()).toBe(0);
      expect((await browser.get("/")).body).toEqual({ user: null, views: 1 });
    });
  });

  it("examples/express5.ts signs a user out of every other device", async () => {
    const store = new RedisStore({
      url: getUrl(),
      prefix: `example-${randomUUID().slice(0, 8)}:`,
      indexBy: express5Example.userOf,
    });
    defer(() => store.close());
    defer(() => store.clear());
    const app = await startExample("express5", store);
    defer(() => app.close());
    const laptop = new CookieClient(app.url);
    const phone = new CookieClient(app.url);
    const tablet = new CookieClient(app.url);
    const someoneElse = new CookieClient(app.url);
    for (const device of [laptop, phone, tablet]) await device.get("/login?user=alice");
    await someoneElse.get("/login?user=bob");
    expect((await store.idsFor("alice")).length).toBe(3);

    expect((await laptop.get("/logout-everywhere")).body).toEqual({ user: "alice", signedOut: 2 });
    expect((await laptop.get("/")).body).toMatchObject({ user: "alice" });
    expect((await phone.get("/")).body).toMatchObject({ user: null });
    expect((await tablet.get("/")).body).toMatchObject({ user: null });
    expect((await someoneElse.get("/")).body).toMatchObject({ user: "bob" });
    expect(await store.idsFor("alice")).toHaveLength(1);
    expect((await phone.get("/logout-everywhere")).status).toBe(401);
  });
}

/**
 * One browser-like session flow over real HTTP, run on every framework and
 * every topology: log in, count to 20, regenerate, log out, replay old
 * cookies. After each step the store is asked directly whether it holds what
 * the app believes.
 */
import { randomUUID } from "node:crypto";
import { afterEach, describe, expect, it } from "vitest";
import { RedisStore, type RedisStoreOptions } from "../../src/index.js";
import {
  COOKIE_NAME,
  FRAMEWORKS,
  type Framework,
  type RunningApp,
  SESSION_SECRET,
  type SessionView,
  startApp,
} from "./apps.js";
import { CookieClient, unsignSessionCookie } from "./client.js";

export interface HttpTarget {
  /** URL the store connects with. */
  url: string;
  kind: "standalone" | "sentinel" | "cluster";
}

/** The session id in the client's cookie jar, checked against the signing secret. */
export function sidInJar(client: CookieClient): string | undefined {
  const raw = client.cookie(COOKIE_NAME);
  if (raw === undefined) return undefined;
  const sid = unsignSessionCookie(raw, SESSION_SECRET);
  if (sid === undefined) throw new Error(`cookie ${COOKIE_NAME}=${raw} has a bad signature`);
  return sid;
}

/**
 * Closes what a test opened, last first, even when the test failed. Each step
 * gets `stepTimeoutMs`, so a step stuck on a dead server cannot eat the hook
 * timeout of the whole file.
 */
export function cleanupStack(stepTimeoutMs = 5_000) {
  const steps: Array<() => Promise<unknown>> = [];
  afterEach(async () => {
    for (const step of steps.splice(0).reverse()) {
      let timer: NodeJS.Timeout | undefined;
      const bound = new Promise((resolve) => {
        timer = setTimeout(resolve, stepTimeoutMs);
      });
      await Promise.race([step().catch(() => {}), bound]);
      clearTimeout(timer);
    }
  });
  return (step: () => Promise<unknown>) => {
    steps.push(step);
  };
}

export function httpSessionSuite(getTarget: () => HttpTarget): void {
  const defer = cleanupStack();

  async function setUp(framework: Framework, opts: RedisStoreOptions = {}) {
    const prefix = `http-${framework}-${randomUUID().slice(0, 8)}:`;
    const store = new RedisStore({ url: getTarget().url, prefix, ...opts });
    defer(() => store.close());
    defer(() => store.clear());
    const app = await startApp(framework, store);
    defer(() => app.close());
    return { store, app };
  }

  describe.each(FRAMEWORKS)("%s", (framework) => {
    it("login, a counter over 20 requests, regenerate, logout", async () => {
      const { store, app } = await setUp(framework);
      await sessionFlow(app, store);
      expect(store.topology).toBe(getTarget().kind);
    });
  });
}

/** The flow itself; exported so other tests (e.g. after a failover) can rerun it. */
export async function sessionFlow(app: RunningApp, store: RedisStore): Promise<void> {
  const browser = new CookieClient(app.url);

  // A visitor who did nothing has no session and gets no cookie.
  let res = await browser.get<SessionView>("/me");
  expect(res.status).toBe(200);
  expect(res.body.user).toBeUndefined();
  expect(browser.cookie(COOKIE_NAME)).toBeUndefined();
  expect(await store.length()).toBe(0);

  // Log in.
  res = await browser.post<SessionView>("/login", { user: "alice" });
  expect(res.status).toBe(200);
  const sid1 = sidInJar(browser);
  expect(sid1).toBeDefined();
  expect(res.body).toMatchObject({ sid: sid1, user: "alice" });
  expect(await store.get(sid1!)).toMatchObject({ user: "alice" });

  // The counter persists across requests.
  for (let i = 1; i <= 20; i++) {
    res = await browser.get<SessionView>("/count");
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ sid: sid1, user: "alice", count: i });
  }
  const stored = await store.get(sid1!);
  expect(stored).toMatchObject({ user: "alice", count: 20 });
  expect(stored!.cookie.expires).toBeInstanceOf(Date);
  expect(await store.length()).toBe(1);
  expect(await store.ids()).toEqual([sid1]);

  // Regenerate: a new id holds the data, the old id is gone from the store.
  const cookieBeforeRegenerate = browser.cookie(COOKIE_NAME)!;
  res = await browser.post<SessionView>("/regenerate");
  expect(res.status).toBe(200);
  const sid2 = sidInJar(browser);
  expect(sid2).toBeDefined();
  expect(sid2).not.toBe(sid1);
  expect(res.body).toMatchObject({ sid: sid2, oldSid: sid1, user: "alice", count: 20 });
  expect(await store.get(sid1!)).toBeNull();
  expect(await store.get(sid2!)).toMatchObject({ user: "alice", count: 20 });
  expect(await store.ids()).toEqual([sid2]);
  res = await browser.get<SessionView>("/count");
  expect(res.body).toMatchObject({ sid: sid2, count: 21 });

  // The pre-regenerate cookie no longer opens a session.
  const stale = new CookieClient(app.url);
  stale.setCookie(COOKIE_NAME, cookieBeforeRegenerate);
  res = await stale.get<SessionView>("/me");
  expect(res.body.user).toBeUndefined();
  expect(res.body.count).toBeUndefined();

  // Log out: the session is gone from the store and the cookie is cleared.
  const cookieBeforeLogout = browser.cookie(COOKIE_NAME)!;
  res = await browser.post<SessionView>("/logout");
  expect(res.status).toBe(200);
  expect(res.body.oldSid).toBe(sid2);
  expect(browser.cookie(COOKIE_NAME)).toBeUndefined();
  expect(await store.get(sid2!)).toBeNull();
  expect(await store.length()).toBe(0);

  // Replaying the logged-out cookie: no user, and the counter starts fresh in a new session.
  const replay = new CookieClient(app.url);
  replay.setCookie(COOKIE_NAME, cookieBeforeLogout);
  res = await replay.get<SessionView>("/me");
  expect(res.body.user).toBeUndefined();
  expect(res.body.count).toBeUndefined();
  res = await replay.get<SessionView>("/count");
  expect(res.body.count).toBe(1);
  expect(res.body.user).toBeUndefined();
  const sid3 = sidInJar(replay);
  expect(sid3).toBeDefined();
  expect(sid3).not.toBe(sid2);
  expect(res.body.sid).toBe(sid3);
  expect(await store.ids()).toEqual([sid3]);
}

/**
 * Standalone checks from issue 10 that need a server of their own: with
 * `prefix: ""` every key of the database belongs to the store's keyspace, so
 * exact counts need a server no other test writes to.
 */
import { Redis } from "ioredis";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { RedisStore } from "../../src/index.js";
import { type StandaloneTopology, startStandalone } from "../support/index.js";

let topology: StandaloneTopology;
let admin: Redis;
const stores: RedisStore[] = [];

beforeAll(async () => {
  topology = await startStandalone();
  admin = new Redis(topology.url);
});

afterEach(async () => {
  for (const s of stores.splice(0)) await s.close();
  // The server is this file's alone: what a test wrote is everything there is.
  await admin.flushall();
});

afterAll(async () => {
  await admin?.quit();
  await topology?.stop();
});

const session = (userId: string | undefined) =>
  ({
    cookie: { originalMaxAge: 60_000, expires: new Date(Date.now() + 60_000) },
    userId,
  }) as never;

describe('indexBy with prefix: "" (defect 3)', () => {
  it("never counts, lists or clears index keys, or the constructor refuses the combination", async () => {
    let store: RedisStore;
    try {
      store = new RedisStore({
        url: topology.url,
        prefix: "",
        indexBy: (s: { userId?: string }) => s.userId,
      });
    } catch (err) {
      expect(err).toBeInstanceOf(TypeError);
      expect(err).toMatchObject({
        code: "ERR_CONFIG",
        message: expect.stringMatching(/`(prefix|indexPrefix)`/),
      });
      return;
    }
    stores.push(store);
    const sids = ["a1", "a2", "a3", "b1", "anon"];
    for (const sid of sids) {
      await store.set(
        sid,
        session(sid === "anon" ? undefined : sid.startsWith("a") ? "ann" : "bob"),
      );
    }
    expect(await admin.exists("idx:{ann}", "idx:{bob}"), "index keys at their default names").toBe(
      2,
    );
    expect(await store.length(), "length()").toBe(sids.length);
    expect((await store.ids()).sort(), "ids()").toEqual([...sids].sort());
    expect((await store.all()).map((s) => s.id).sort(), "all()").toEqual([...sids].sort());
    await store.clear();
    expect(await store.length(), "length() after clear()").toBe(0);
    expect(await admin.exists("idx:{ann}", "idx:{bob}"), "index keys after clear()").toBe(2);
  });
});

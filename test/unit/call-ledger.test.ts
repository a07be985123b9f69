/**
 * The failover scenarios claim "every store callback settled exactly once"
 * from CallLedger; these show it would see a callback run twice, or never.
 */
import { describe, expect, it } from "vitest";
import type { RedisStore } from "../../src/index.js";
import { CallLedger } from "../faults/session-load.js";

type Cb = (err: unknown, value?: unknown) => void;

/** Stands in for a store whose set calls back twice and whose touch never does. */
function misbehavingStore() {
  const later: Array<() => void> = [];
  const store = {
    get: (_sid: string, cb?: Cb) => (cb ? cb(null, null) : Promise.resolve(null)),
    set: (_sid: string, _s: unknown, cb: Cb) => {
      cb(null);
      later.push(() => cb(new Error("second call")));
    },
    touch: (_sid: string, _s: unknown, _cb: Cb) => {},
    destroy: (_sid: string) => Promise.reject(new Error("gone")),
  };
  const runLater = () => {
    for (const f of later) f();
  };
  return { store: store as unknown as RedisStore, runLater };
}

describe("CallLedger", () => {
  it("counts each call's settlements, through callbacks and promises alike", async () => {
    const { store, runLater } = misbehavingStore();
    const ledger = new CallLedger(() => 0);
    ledger.wrap(store);
    let seen = 0;
    store.get("a", () => seen++);
    await store.get("b");
    store.set("c", {} as never, () => seen++);
    store.touch("d", {} as never, () => seen++);
    await expect(store.destroy("e")).rejects.toThrow("gone");
    runLater();

    // The wrapped callbacks still reach the caller, every time they run.
    expect(seen).toBe(3);
    expect(ledger.calls.map((c) => [c.op, c.settles])).toEqual([
      ["get", 1],
      ["get", 1],
      ["set", 2],
      ["touch", 0],
      ["destroy", 1],
    ]);
    expect(ledger.wrong().map((c) => c.sid)).toEqual(["c", "d"]);
    expect(ledger.calls[2]!.error).toContain("second call");
  });

  it("resolves whenSettled once nothing is pending", async () => {
    const ledger = new CallLedger(() => 0);
    let done: Cb = () => {};
    const store = { get: (_sid: string, cb: Cb) => (done = cb) } as unknown as RedisStore;
    ledger.wrap(store);
    store.get("a", () => {});
    let settled = false;
    const waiting = ledger.whenSettled(60_000).then(() => (settled = true));
    await Promise.resolve();
    expect(settled).toBe(false);
    done(null, null);
    await waiting;
    expect(settled).toBe(true);
  });
});

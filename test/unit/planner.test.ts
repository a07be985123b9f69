/** The operation planner is pure: what each operation would send, worked out without a server. */
import { describe, expect, it } from "vitest";
import { ConfigurationError, SessionEncodeError } from "../../src/errors.js";
import { createKeyScheme } from "../../src/keys.js";
import { type PlanContext, planDestroy, planSet, planTouch } from "../../src/planner.js";
import { codecFor, jsonSerializer, msgpackSerializer } from "../../src/serializer.js";

const NOW = Date.UTC(2030, 0, 1);
const base: PlanContext = {
  keys: createKeyScheme("sess:", false),
  ttl: 86_400,
  disableTTL: false,
  codec: codecFor(jsonSerializer),
  indexBy: undefined,
};
const cookie = (ms: number) => ({ cookie: { expires: new Date(NOW + ms) } });

describe("planSet", () => {
  it("works out the key, the TTL in ms, the encoded value and the user once", () => {
    const ctx = { ...base, indexBy: (s: { user?: string }) => s.user };
    const plan = planSet(ctx, "abc", { ...cookie(1500), user: "ann" }, NOW);
    expect(plan).toEqual({
      op: "set",
      sid: "abc",
      key: "sess:abc",
      value: JSON.stringify({ ...cookie(1500), user: "ann" }),
      ttlMs: 1500,
      user: "ann",
    });
  });

  it("rounds a fraction of a millisecond up, so a session never expires early", () => {
    expect(planSet({ ...base, ttl: 1.0005 }, "abc", {}, NOW)).toMatchObject({ ttlMs: 1001 });
  });

  it("uses the cluster key scheme it is given", () => {
    const ctx = { ...base, keys: createKeyScheme("sess:", true) };
    expect(planSet(ctx, "abc", cookie(1000), NOW)).toMatchObject({ key: "sess:{abc}" });
  });

  it("plans a destroy when the TTL is already over", () => {
    expect(planSet(base, "abc", cookie(-1), NOW)).toEqual({
      op: "destroy",
      sid: "abc",
      key: "sess:abc",
    });
  });

  it("leaves the TTL out with disableTTL, even for an expired cookie", () => {
    expect(planSet({ ...base, disableTTL: true }, "abc", cookie(-1), NOW)).toMatchObject({
      op: "set",
      ttlMs: undefined,
    });
  });

  it("encodes with the store's codec (bytes for MessagePack)", () => {
    const plan = planSet({ ...base, codec: codecFor(msgpackSerializer) }, "a", cookie(1000), NOW);
    expect(Buffer.isBuffer(plan.op === "set" && plan.value)).toBe(true);
  });

  it("refuses a ttl function that returns no number, naming the sid", () => {
    const ctx = { ...base, ttl: (() => "1d") as never };
    expect(() => planSet(ctx, "abc", {}, NOW)).toThrow(ConfigurationError);
    expect(() => planSet(ctx, "abc", {}, NOW)).toThrow(/`ttl` function.*"abc"/);
  });

  it("refuses a session that cannot be encoded, naming the sid", () => {
    const cyclic: Record<string, unknown> = { ...cookie(1000) };
    cyclic.self = cyclic;
    expect(() => planSet(base, "abc", cyclic, NOW)).toThrow(SessionEncodeError);
    expect(() => planSet(base, "abc", cyclic, NOW)).toThrow(/"abc"[\s\S]*nothing was written/);
  });

  it("refuses an indexBy that throws or returns something other than a user id", () => {
    const throwing = {
      ...base,
      indexBy: () => {
        throw new Error("no user");
      },
    };
    expect(() => planSet(throwing, "abc", cookie(1000), NOW)).toThrow(/`indexBy` threw/);
    const object = { ...base, indexBy: () => ({}) as never };
    expect(() => planSet(object, "abc", cookie(1000), NOW)).toThrow(/`indexBy` returned object/);
  });

  it("refuses to index an empty sid", () => {
    const ctx = { ...base, indexBy: () => "ann" };
    expect(() => planSet(ctx, "", cookie(1000), NOW)).toThrow(SessionEncodeError);
  });
});

describe("planTouch and planDestroy", () => {
  it("refreshes to the cookie's remaining milliseconds, at least 1", () => {
    expect(planTouch(base, "abc", cookie(250), NOW)).toEqual({
      sid: "abc",
      key: "sess:abc",
      ttlMs: 250,
      user: undefined,
    });
    expect(planTouch(base, "abc", cookie(-500), NOW).ttlMs).toBe(1);
  });

  it("names the key of a destroy", () => {
    expect(planDestroy(base, "abc")).toEqual({ op: "destroy", sid: "abc", key: "sess:abc" });
  });
});

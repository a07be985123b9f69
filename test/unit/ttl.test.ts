/**
 * The TTL rules of the spec ("TTL" section) as pure logic: which source wins,
 * and that the cookie's remaining lifetime keeps its milliseconds (a 50 ms
 * cookie lives 50 ms, not a whole second).
 */
import { describe, expect, it } from "vitest";
import { sessionTtlMs, toPx } from "../../src/ttl.js";

const NOW = Date.UTC(2030, 0, 1, 12, 0, 0);
const withCookie = (expires: unknown) => ({ cookie: { expires } });

describe("sessionTtlMs", () => {
  it("lets a ttl function (of seconds) win over the cookie", () => {
    expect(sessionTtlMs(withCookie(new Date(NOW + 600_000)), () => 30, NOW)).toBe(30_000);
  });

  it("uses the cookie's remaining lifetime over the numeric ttl", () => {
    expect(sessionTtlMs(withCookie(new Date(NOW + 120_000)), 300, NOW)).toBe(120_000);
    // express-session's JSON round trip leaves an ISO string.
    expect(sessionTtlMs(withCookie(new Date(NOW + 120_000).toISOString()), 300, NOW)).toBe(120_000);
  });

  it("falls back to the numeric ttl without a usable cookie.expires", () => {
    expect(sessionTtlMs({ cookie: {} }, 300, NOW)).toBe(300_000);
    expect(sessionTtlMs(withCookie(null), 300, NOW)).toBe(300_000);
    expect(sessionTtlMs(withCookie("not a date"), 300, NOW)).toBe(300_000);
    expect(sessionTtlMs({}, 300, NOW)).toBe(300_000);
  });

  it("keeps the milliseconds of the cookie's remaining lifetime (defect 13)", () => {
    expect(sessionTtlMs(withCookie(new Date(NOW + 50)), 86_400, NOW)).toBe(50);
    expect(sessionTtlMs(withCookie(new Date(NOW + 1_500)), 86_400, NOW)).toBe(1_500);
    expect(sessionTtlMs(withCookie(new Date(NOW + 60_001)), 86_400, NOW)).toBe(60_001);
  });

  it("reports an expired cookie as a TTL <= 0 (the set becomes a destroy)", () => {
    expect(sessionTtlMs(withCookie(new Date(NOW - 5_000)), 86_400, NOW)).toBeLessThanOrEqual(0);
    expect(sessionTtlMs(withCookie(new Date(NOW)), 86_400, NOW)).toBeLessThanOrEqual(0);
    // 1 ms in the past is expired, not rounded up to a live second.
    expect(sessionTtlMs(withCookie(new Date(NOW - 1)), 86_400, NOW)).toBeLessThanOrEqual(0);
  });

  it("keeps fractional numeric and function TTLs to the millisecond", () => {
    expect(sessionTtlMs({ cookie: {} }, 1.5, NOW)).toBe(1_500);
    expect(sessionTtlMs({ cookie: {} }, () => 0.25, NOW)).toBe(250);
  });

  it("reports a function that returns no number as NaN (the planner refuses it)", () => {
    expect(sessionTtlMs({}, (() => "1d") as never, NOW)).toBeNaN();
  });

  it("rounds fractions of a millisecond up, so a session never expires early", () => {
    expect(toPx(0.2)).toBe(1);
    expect(toPx(1500)).toBe(1500);
  });
});

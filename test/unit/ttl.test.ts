/**
 * The TTL rules of the spec ("TTL" section) as pure logic: which source wins,
 * and that the cookie's remaining lifetime keeps its milliseconds (a 50 ms
 * cookie is 0.05 s, not a whole second).
 */
import { describe, expect, it } from "vitest";
import { sessionTtl } from "../../src/ttl.js";

const NOW = Date.UTC(2030, 0, 1, 12, 0, 0);
const withCookie = (expires: unknown) => ({ cookie: { expires } });

describe("sessionTtl", () => {
  it("lets a ttl function win over the cookie", () => {
    expect(sessionTtl(withCookie(new Date(NOW + 600_000)), () => 30, NOW)).toBe(30);
  });

  it("uses the cookie's remaining lifetime over the numeric ttl", () => {
    expect(sessionTtl(withCookie(new Date(NOW + 120_000)), 300, NOW)).toBe(120);
    // express-session's JSON round trip leaves an ISO string.
    expect(sessionTtl(withCookie(new Date(NOW + 120_000).toISOString()), 300, NOW)).toBe(120);
  });

  it("falls back to the numeric ttl without a usable cookie.expires", () => {
    expect(sessionTtl({ cookie: {} }, 300, NOW)).toBe(300);
    expect(sessionTtl(withCookie(null), 300, NOW)).toBe(300);
    expect(sessionTtl(withCookie("not a date"), 300, NOW)).toBe(300);
    expect(sessionTtl({}, 300, NOW)).toBe(300);
  });

  it("keeps the milliseconds of the cookie's remaining lifetime (defect 13)", () => {
    expect(sessionTtl(withCookie(new Date(NOW + 50)), 86_400, NOW)).toBeCloseTo(0.05, 6);
    expect(sessionTtl(withCookie(new Date(NOW + 1_500)), 86_400, NOW)).toBeCloseTo(1.5, 6);
    expect(sessionTtl(withCookie(new Date(NOW + 60_001)), 86_400, NOW)).toBeCloseTo(60.001, 6);
  });

  it("reports an expired cookie as a TTL <= 0 (the set becomes a destroy)", () => {
    expect(sessionTtl(withCookie(new Date(NOW - 5_000)), 86_400, NOW)).toBeLessThanOrEqual(0);
    expect(sessionTtl(withCookie(new Date(NOW)), 86_400, NOW)).toBeLessThanOrEqual(0);
    // 1 ms in the past is expired, not rounded up to a live second.
    expect(sessionTtl(withCookie(new Date(NOW - 1)), 86_400, NOW)).toBeLessThanOrEqual(0);
  });

  it("keeps fractional numeric and function TTLs as given", () => {
    expect(sessionTtl({ cookie: {} }, 1.5, NOW)).toBe(1.5);
    expect(sessionTtl({ cookie: {} }, () => 0.25, NOW)).toBe(0.25);
  });
});

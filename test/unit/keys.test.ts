import { describe, expect, it } from "vitest";
import { createKeyScheme, escapeGlob } from "../../src/keys.js";
import { keySlot } from "../../src/slot.js";

describe("key scheme", () => {
  it("is byte-compatible with connect-redis without hash tags", () => {
    const k = createKeyScheme("sess:", false);
    expect(k.key("abc")).toBe("sess:abc");
    expect(k.sid("sess:abc")).toBe("abc");
    expect(k.sid("other:abc")).toBeUndefined();
    expect(k.pattern).toBe("sess:*");
  });

  it("wraps the sid in a hash tag on a cluster", () => {
    const k = createKeyScheme("sess:", true);
    expect(k.key("abc")).toBe("sess:{abc}");
    expect(k.sid("sess:{abc}")).toBe("abc");
    expect(k.sid("sess:{a}b}")).toBe("a}b");
    expect(k.sid("sess:abc")).toBeUndefined();
  });

  it("escapes every SCAN MATCH glob character", () => {
    expect(escapeGlob("a*b?c[d]e\\f")).toBe("a\\*b\\?c\\[d\\]e\\\\f");
    expect(createKeyScheme("a*", false).pattern).toBe("a\\**");
  });
});

describe("keySlot", () => {
  // Values from CLUSTER KEYSLOT on Redis 7.
  it.each([
    ["foo", 12182],
    ["bar", 5061],
    ["{user1000}.following", 3443],
    ["{user1000}.followers", 3443],
    ["foo{}{bar}", 8363],
    ["foo{{bar}}zap", 4015],
    ["foo{bar}{zap}", 5061],
    ["", 0],
  ])("slot of %s is %i", (key, slot) => {
    expect(keySlot(key)).toBe(slot);
  });

  it("spreads tagged session keys over the slot range", () => {
    const k = createKeyScheme("sess:", true);
    const slots = new Set(Array.from({ length: 1000 }, (_, i) => keySlot(k.key(`sid${i}`))));
    expect(slots.size).toBeGreaterThan(900);
  });
});

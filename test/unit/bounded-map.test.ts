import { describe, expect, it } from "vitest";
import { BoundedMap } from "../../src/bounded-map.js";

describe("BoundedMap", () => {
  it("keeps between limit and 2 x limit of the latest entries, and forgets older ones", () => {
    const m = new BoundedMap<string, number>(100);
    for (let i = 0; i < 1000; i++) m.set(`k${i}`, i);
    expect(m.size).toBeGreaterThanOrEqual(99);
    expect(m.size).toBeLessThanOrEqual(200);
    expect(m.get("k999")).toBe(999);
    expect(m.get("k900")).toBe(900);
    expect(m.get("k0")).toBeUndefined();
    expect(m.get("k799")).toBeUndefined();
  });

  it("returns the latest value of a key set in both generations, and deletes from both", () => {
    const m = new BoundedMap<string, string>(3);
    m.set("a", "old");
    m.set("b", "x");
    m.set("c", "x"); // the generation is full: a, b, c move to the old one
    m.set("a", "new");
    expect(m.get("a")).toBe("new");
    m.delete("a");
    expect(m.get("a")).toBeUndefined();
    expect(m.get("b")).toBe("x");
    m.clear();
    expect(m.size).toBe(0);
    expect(m.get("b")).toBeUndefined();
  });
});

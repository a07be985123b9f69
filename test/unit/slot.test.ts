import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { describe, expect, it } from "vitest";
import { keySlot, SLOTS } from "../../src/slot.js";

// The copy of cluster-key-slot that ioredis itself loads to route commands.
const fromIoredis = createRequire(createRequire(import.meta.url).resolve("ioredis"));
const ioredisSlot = fromIoredis("cluster-key-slot") as (key: string) => number;
const manifest = (path: string) =>
  JSON.parse(readFileSync(path, "utf8")) as { dependencies?: Record<string, string> };

describe("keySlot", () => {
  it("matches the Redis Cluster specification's reference values", () => {
    expect(SLOTS).toBe(16384);
    // CRC16/XMODEM of "123456789" is 0x31C3, the check value the spec quotes.
    expect(keySlot("123456789")).toBe(0x31c3 % SLOTS);
    expect(keySlot("123456789")).toBe(12739);
    expect(keySlot("")).toBe(0);
  });

  it("hashes only a non-empty hash tag", () => {
    expect(keySlot("{user1000}.following")).toBe(keySlot("{user1000}.followers"));
    expect(keySlot("{user1000}.following")).toBe(keySlot("user1000"));
    expect(keySlot("foo{bar}{zap}")).toBe(keySlot("bar"));
    expect(keySlot("foo{{bar}}zap")).toBe(keySlot("{bar"));
    expect(keySlot("sess:{abc}")).toBe(keySlot("abc"));
    // An empty tag "{}" does not count: the whole key is hashed (5114 is what
    // CLUSTER KEYSLOT answers).
    expect(keySlot("sess:{}")).toBe(5114);
    expect(keySlot("sess:{}")).not.toBe(keySlot(""));
  });

  it("hashes the whole key after an empty tag, as Redis does (not as cluster-key-slot does)", () => {
    // What CLUSTER KEYSLOT answered on the harness's Redis; cluster-key-slot
    // 1.1.1 alone says 4015, 16287, 3300 and 4092.
    const server: Array<[string, number]> = [
      ["foo{}{bar}", 8363],
      ["sess:{}x}", 14015],
      ["a{}b}c", 2041],
      ["{}{}{x}", 2088],
    ];
    for (const [key, slot] of server) {
      expect(keySlot(key), key).toBe(slot);
      expect(keySlot(Buffer.from(key)), key).toBe(slot);
    }
  });

  it("gives bytes the slot of the same text in UTF-8", () => {
    for (const key of ["sess:{k}", "sess:ünïcødé", "sess:{😀}x", "{user1000}.following"]) {
      expect(keySlot(Buffer.from(key, "utf8")), key).toBe(keySlot(key));
      expect(keySlot(new Uint8Array(Buffer.from(key, "utf8"))), key).toBe(keySlot(key));
    }
  });
});

describe("keySlot and ioredis' cluster-key-slot", () => {
  it("agree on every key with a hash tag or none, lone UTF-16 surrogates included", () => {
    // A lone surrogate is where two CRC16 implementations part ways (how it
    // becomes bytes); the store groups keys per node by slot, and ioredis
    // refuses a pipeline whose keys it maps to two nodes.
    const keys = ["sess:{\uD800}", "sess:\uDC00abc", "{a\uD83D}b", "sess:😀", "sess:plain"];
    for (let i = 0; i < 2000; i++) keys.push(`sess:{${i.toString(36)}-${"x".repeat(i % 40)}}`);
    for (const key of keys) expect(keySlot(key), JSON.stringify(key)).toBe(ioredisSlot(key));
  });

  it("come from the exact cluster-key-slot version ioredis depends on", () => {
    const ours = manifest(new URL("../../package.json", import.meta.url).pathname);
    const ioredis = manifest(fromIoredis.resolve("ioredis/package.json"));
    expect(ours.dependencies?.["cluster-key-slot"]).toBe(
      ioredis.dependencies?.["cluster-key-slot"],
    );
    expect(ours.dependencies?.["cluster-key-slot"]).toMatch(/^\d+\.\d+\.\d+$/);
  });
});

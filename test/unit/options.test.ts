import { describe, expect, it } from "vitest";
import { validateOptions } from "../../src/validate.js";

describe("validateOptions", () => {
  it("accepts the documented options", () => {
    expect(() =>
      validateOptions({
        url: "redis://h",
        prefix: "x:",
        ttl: (s: unknown) => (s ? 1 : 2),
        batch: { maxDelayMs: 1, maxSize: 10 },
        durability: { replicas: 1, timeoutMs: 100, onShortfall: "warn" },
        serializer: { stringify: JSON.stringify, parse: JSON.parse },
      }),
    ).not.toThrow();
  });

  it.each([
    [{ retryStrategy: 1 }, /Unknown RedisStore option `retryStrategy`.*`redisOptions`/],
    [{ scanCount: 0 }, /`scanCount` to be an integer from 1 and up, got `0`/],
    [{ ttl: "1d" }, /`ttl` to be a number of seconds or a function, got `"1d"`/],
    [{ touchAfter: -1 }, /`touchAfter`/],
    [{ topology: "ring" }, /`topology` to be "auto"/],
    [{ serializer: "yaml" }, /`serializer` to be "msgpack", "json"/],
    [{ durability: { replicas: 1, onShortfall: "ignore" } }, /`durability.onShortfall`/],
    // WAIT n 0 blocks the connection until the replicas answer: every write would hang.
    [
      { durability: { replicas: 1, timeoutMs: 0 } },
      /`durability.timeoutMs` to be an integer from 1/,
    ],
    [{ durability: { replicas: 1, timeoutMs: 2.5 } }, /`durability.timeoutMs` to be an integer/],
    [{ prefix: "", indexBy: () => "u" }, /non-empty `prefix` with `indexBy`/],
    [{ url: "redis://a", cluster: { nodes: ["b"] } }, /`url` and `cluster`/],
    [{ sentinel: { sentinels: [], name: "m" } }, /`sentinel.sentinels`/],
    [{ sentinel: { sentinels: ["a"] } }, /`sentinel.name`/],
    [{ prefix: "s:", indexPrefix: "s:idx:" }, /`indexPrefix` not to start with/],
  ])("rejects %o", (opts, message) => {
    expect(() => validateOptions(opts)).toThrow(TypeError);
    expect(() => validateOptions(opts)).toThrow(message);
  });
});

describe("validateOptions never quotes a password", () => {
  it.each([
    [{ client: "redis://app:Zx9q-secret@127.0.0.1:6379" }, "Zx9q-secret"],
    [{ password: 918273645 }, "918273645"],
    [{ pass: { secret: "Zx9q-secret" } }, "Zx9q-secret"],
  ])("refuses %o without showing it", (opts, secret) => {
    let message = "";
    try {
      validateOptions(opts);
    } catch (err) {
      message = String((err as Error).message);
    }
    expect(message).toMatch(/Expected `(client|password|pass)`/);
    expect(message).not.toContain(secret);
  });
});

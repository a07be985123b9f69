import { describe, expect, it } from "vitest";
import { jsonSerializer, msgpackSerializer, reviveSession, toPlain } from "../../src/serializer.js";

describe("toPlain keeps what JSON keeps", () => {
  const cases: Record<string, unknown> = {
    nested: { a: 1, b: [1, "x", null], c: { d: true } },
    dropped: { f: () => 1, s: Symbol("x"), u: undefined, keep: 0 },
    arrays: [undefined, () => 1, 2],
    numbers: { nan: Number.NaN, inf: Number.POSITIVE_INFINITY, n: -0.5 },
    toJSON: { v: { toJSON: () => ({ replaced: true }) } },
  };
  for (const [name, value] of Object.entries(cases)) {
    it(name, () => {
      // toStrictEqual: a member kept as `undefined` must count as a difference.
      expect(toPlain(value)).toStrictEqual(JSON.parse(JSON.stringify(value)));
    });
  }

  it("keeps Dates as Dates", () => {
    const d = new Date(1_700_000_000_000);
    expect(toPlain({ d })).toEqual({ d });
    expect((toPlain({ d }) as { d: unknown }).d).toBeInstanceOf(Date);
  });

  it("throws on cycles and BigInt, and allows shared references", () => {
    const a: Record<string, unknown> = {};
    a.self = a;
    expect(() => toPlain(a)).toThrow(/cycle/);
    expect(() => toPlain({ n: 1n })).toThrow(/BigInt/);
    const shared = { x: 1 };
    expect(toPlain({ a: shared, b: shared })).toEqual({ a: { x: 1 }, b: { x: 1 } });
  });
});

describe("serializers", () => {
  const sess = {
    cookie: { originalMaxAge: 1000, expires: new Date(1_800_000_000_000), httpOnly: true },
    user: { id: 42, name: "Zoë", roles: ["a", "b"] },
  };

  it("msgpack round-trips Dates and is smaller than JSON", () => {
    const bytes = msgpackSerializer.encode(sess) as Buffer;
    expect(bytes[0]).not.toBe(0x7b);
    const back = msgpackSerializer.decode(bytes) as typeof sess;
    expect(back.cookie.expires).toBeInstanceOf(Date);
    expect(back).toEqual(sess);
    expect(bytes.length).toBeLessThan(Buffer.byteLength(JSON.stringify(sess)));
  });

  it("each reads the other's format", () => {
    const fromJson = msgpackSerializer.decode(Buffer.from(jsonSerializer.encode(sess) as string));
    expect(reviveSession(fromJson)).toEqual(sess);
    const fromPack = jsonSerializer.decode(msgpackSerializer.encode(sess) as Buffer);
    expect(fromPack).toEqual(sess);
  });

  it("reviveSession turns cookie.expires text into a Date", () => {
    const s = reviveSession({ cookie: { expires: "2030-01-01T00:00:00.000Z" } }) as {
      cookie: { expires: Date };
    };
    expect(s.cookie.expires).toEqual(new Date("2030-01-01T00:00:00.000Z"));
  });
});

describe("toPlain copy-on-write", () => {
  it("returns plain data that needs no change as it is", () => {
    const data = { a: 1, b: [1, "x", { c: true }], d: new Date(0) };
    expect(toPlain(data)).toBe(data);
  });

  it("copies only where something changes, and never mutates the input", () => {
    const inner = { keep: 1 };
    const data = { inner, drop: undefined, arr: [1, undefined, 3], fn: () => 1 };
    const out = toPlain(data) as Record<string, unknown>;
    expect(out).not.toBe(data);
    expect(out.inner).toBe(inner);
    expect(out).toEqual({ inner: { keep: 1 }, arr: [1, null, 3] });
    expect(Object.keys(out)).toEqual(["inner", "arr"]);
    expect(data.arr).toEqual([1, undefined, 3]);
    expect("drop" in data).toBe(true);
  });

  it("drops an undefined member even when nothing else changes", () => {
    const data = { a: 1, gone: undefined, b: { also: undefined, kept: true } };
    const out = toPlain(data) as Record<string, unknown>;
    expect(Object.keys(out)).toEqual(["a", "b"]);
    expect(Object.keys(out.b as object)).toEqual(["kept"]);
    expect("gone" in data).toBe(true);
  });

  it("rebuilds class instances and sparse arrays as JSON does", () => {
    class Point {
      x = 1;
      y = 2;
    }
    // biome-ignore lint/suspicious/noSparseArray: a hole is the point of this case
    const sparse = [1, , 3];
    const value = { p: new Point(), m: new Map([["k", 1]]), sparse };
    expect(toPlain(value)).toEqual(JSON.parse(JSON.stringify(value)));
    expect(Object.getPrototypeOf((toPlain(value) as { p: object }).p)).toBe(Object.prototype);
  });
});

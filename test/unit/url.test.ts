import { describe, expect, it } from "vitest";
import { ConfigurationError } from "../../src/errors.js";
import { planConnection } from "../../src/topology/plan.js";
import { parseUrl, redact } from "../../src/topology/url.js";

describe("parseUrl", () => {
  it("parses redis:// with credentials and db", () => {
    expect(parseUrl("redis://user:p%40ss@example.com:6380/2")).toEqual({
      kind: "single",
      tls: false,
      hosts: [{ host: "example.com", port: 6380 }],
      username: "user",
      password: "p@ss",
      db: 2,
    });
  });

  it("takes the password-only forms", () => {
    expect(parseUrl("redis://:secret@h").password).toBe("secret");
    expect(parseUrl("redis://:secret@h").username).toBeUndefined();
  });

  it("marks rediss as TLS and defaults the port", () => {
    const u = parseUrl("rediss://h");
    expect(u.tls).toBe(true);
    expect(u.hosts).toEqual([{ host: "h", port: 6379 }]);
  });

  it("parses sentinel lists with the master name as fragment or ?name=", () => {
    const a = parseUrl("redis-sentinel://s1:26380,s2,[::1]:26381/3#mymaster");
    expect(a.kind).toBe("sentinel");
    expect(a.hosts).toEqual([
      { host: "s1", port: 26380 },
      { host: "s2", port: 26379 },
      { host: "::1", port: 26381 },
    ]);
    expect(a.db).toBe(3);
    expect(a.masterName).toBe("mymaster");
    expect(parseUrl("rediss-sentinel://s1?name=other").masterName).toBe("other");
    expect(parseUrl("rediss-sentinel://s1?name=other").tls).toBe(true);
  });

  it("parses cluster seed lists", () => {
    const c = parseUrl("redis-cluster://u:p@a:7000,b:7001");
    expect(c.kind).toBe("cluster");
    expect(c.hosts.map((h) => h.port)).toEqual([7000, 7001]);
    expect(c.password).toBe("p");
  });

  it.each([
    ["http://x", /unknown scheme "http:\/\/"/],
    ["redis://a:1,b:2", /takes one host/],
    ["redis://h:99999", /port "99999"/],
    ["redis://h/abc", /database "abc"/],
    ["redis-cluster://h/1", /only database 0/],
    ["nonsense", /expected scheme/],
  ])("rejects %s with a message that says why", (url, why) => {
    expect(() => parseUrl(url)).toThrow(ConfigurationError);
    expect(() => parseUrl(url)).toThrow(why);
  });

  it("never puts a password in an error message", () => {
    expect(redact("redis://u:hunter2@h:1/x")).toBe("redis://u:***@h:1/x");
    expect(() => parseUrl("redis://u:hunter2@h:99999")).toThrow(/^(?!.*hunter2)/s);
  });
});

describe("planConnection (source order)", () => {
  it("uses url first", () => {
    expect(planConnection({ url: "redis-cluster://a:1" }).kind).toBe("cluster");
  });

  it("asks a plain redis:// node what it is under topology auto", () => {
    expect(planConnection({ url: "redis://h:1" }).kind).toBe("detect");
    expect(planConnection({ url: "redis://h:1", topology: "standalone" }).kind).toBe("standalone");
  });

  it("turns a redis:// address into a cluster seed when told", () => {
    const plan = planConnection({ url: "redis://h:7000", topology: "cluster" });
    expect(plan).toMatchObject({ kind: "cluster", nodes: [{ host: "h", port: 7000 }] });
  });

  it("refuses a topology that contradicts the URL", () => {
    expect(() => planConnection({ url: "redis-cluster://h", topology: "sentinel" })).toThrow(
      /contradicts `url`/,
    );
  });

  it("requires a sentinel master name", () => {
    expect(() => planConnection({ url: "redis-sentinel://h:26379" })).toThrow(
      /no master group.*#mymaster/,
    );
  });

  it("builds sentinel and cluster plans from the option groups", () => {
    const s = planConnection({
      sentinel: {
        sentinels: ["a:1", { host: "b" }],
        name: "m",
        password: "x",
        sentinelPassword: "y",
      },
    });
    expect(s).toMatchObject({
      kind: "sentinel",
      name: "m",
      sentinels: [
        { host: "a", port: 1 },
        { host: "b", port: 26379 },
      ],
      node: { password: "x" },
      sentinel: { password: "y" },
    });
    const c = planConnection({ cluster: { nodes: ["a:7000"] } });
    expect(c).toMatchObject({ kind: "cluster", nodes: [{ host: "a", port: 7000 }] });
  });

  it("maps the connect-redis shorthand, pass included", () => {
    expect(planConnection({ host: "h", port: 7, db: 2, pass: "pw" })).toMatchObject({
      kind: "detect",
      node: { host: "h", port: 7, db: 2, password: "pw" },
    });
    expect(planConnection({ socket: "/tmp/r.sock" })).toMatchObject({
      kind: "standalone",
      node: { path: "/tmp/r.sock" },
    });
  });

  it("falls back to REDIS_URL, then 127.0.0.1:6379", () => {
    expect(planConnection({}, { REDIS_URL: "redis-cluster://e:1" }).kind).toBe("cluster");
    expect(planConnection({}, {})).toMatchObject({
      kind: "detect",
      node: { host: "127.0.0.1", port: 6379 },
    });
  });
});

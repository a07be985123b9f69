import { describe, expect, it } from "vitest";
import { ConfigurationError } from "../../src/errors.js";
import { RedisStore } from "../../src/index.js";
import { planConnection } from "../../src/topology/plan.js";
import { parseUrl, redact } from "../../src/topology/url.js";
import { findSecrets, secretPieces } from "../fixtures/secrets.js";

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

// One password per character a URL treats as a delimiter, and all of them at once.
const PASSWORDS = [
  "Zx9q/Rt7w/Lp3m",
  "Zx9q#Rt7w#Lp3m",
  "Zx9q?Rt7w?Lp3m",
  "Zx9q@Rt7w@Lp3m",
  "Zx9q:Rt7w:Lp3m",
  "Zx9q/Rt7w#Lp3m?Vb2n@Kd4s:Hj6t",
];

/** The error `fn` throws; fails the test when it throws nothing. */
function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error("expected a throw");
}

describe("passwords in URLs", () => {
  it.each(PASSWORDS)("understands the unencoded password %s", (password) => {
    const url = `redis://u:${password}@127.0.0.1:6390/2`;
    expect(parseUrl(url)).toEqual({
      kind: "single",
      tls: false,
      hosts: [{ host: "127.0.0.1", port: 6390 }],
      username: "u",
      password,
      db: 2,
    });
    expect(parseUrl(`redis://:${password}@h`)).toMatchObject({ password, hosts: [{ host: "h" }] });
    const sentinel = parseUrl(`redis-sentinel://u:${password}@s1:26380,s2/1#mymaster`);
    expect(sentinel).toMatchObject({ password, masterName: "mymaster", db: 1 });
    expect(sentinel.hosts).toEqual([
      { host: "s1", port: 26380 },
      { host: "s2", port: 26379 },
    ]);
    const cluster = parseUrl(`redis-cluster://u:${password}@a:7000,b:7001`);
    expect(cluster).toMatchObject({ password, hosts: [{ port: 7000 }, { port: 7001 }] });
  });

  it.each(PASSWORDS)("decodes the percent-encoded password %s", (password) => {
    const url = `redis://u:${encodeURIComponent(password)}@h:1`;
    expect(parseUrl(url)).toMatchObject({ username: "u", password, hosts: [{ host: "h" }] });
    expect(parseUrl("redis://u:p%2Fss@h").password).toBe("p/ss");
  });

  it("takes an @ in a master name when it is written %40", () => {
    expect(parseUrl("redis-sentinel://u:a@b@h:1#my%40master")).toMatchObject({
      password: "a@b",
      masterName: "my@master",
      hosts: [{ host: "h", port: 1 }],
    });
  });

  // Each URL is wrong somewhere other than its password; the error must say
  // where, and show *** for the password, never a piece of it.
  const wrongElsewhere = (userinfo: string): Array<[string, RegExp]> => [
    [`redis://${userinfo}@127.0.0.1:99999`, /port "99999" of "127\.0\.0\.1"/],
    [`redis://${userinfo}@127.0.0.1:6390/abc`, /database "abc"/],
    [`redis://${userinfo}@a:1,b:2`, /takes one host/],
    [`redis-cluster://${userinfo}@h/1`, /only database 0/],
    [`http://${userinfo}@h`, /unknown scheme "http:\/\/"/],
    [`${userinfo}@h:1`, /expected scheme/],
  ];

  it.each(PASSWORDS.flatMap((p) => [`u:${p}`, `:${p}`, `u:${encodeURIComponent(p)}`]))(
    "refuses URLs that are wrong elsewhere without showing the password (%s)",
    (userinfo) => {
      const password = decodeURIComponent(userinfo.slice(userinfo.indexOf(":") + 1));
      const secrets = secretPieces(password);
      for (const [url, why] of wrongElsewhere(userinfo)) {
        const err = thrown(() => parseUrl(url));
        expect(err, url).toBeInstanceOf(ConfigurationError);
        expect((err as Error).message, url).toMatch(why);
        expect((err as Error).message, url).toContain("***");
        expect(findSecrets(err, secrets), url).toEqual([]);
        // Through the store: a TypeError at construction, with the same care.
        const viaStore = thrown(() => new RedisStore({ url }));
        expect(viaStore, url).toBeInstanceOf(TypeError);
        expect(viaStore, url).toMatchObject({ code: "ERR_CONFIG" });
        expect(findSecrets(viaStore, secrets), url).toEqual([]);
      }
    },
  );

  it("refuses a sentinel URL without a master name, or a contradicting topology, without the password", () => {
    for (const password of PASSWORDS) {
      const secrets = secretPieces(password);
      for (const [url, topology] of [
        [`redis-sentinel://u:${password}@h:26379`, "auto"],
        [`redis-cluster://u:${password}@h:7000`, "sentinel"],
      ] as const) {
        const err = thrown(() => new RedisStore({ url, topology }));
        expect(err, url).toMatchObject({ code: "ERR_CONFIG", message: /\*\*\*/ });
        expect(findSecrets(err, secrets), url).toEqual([]);
      }
    }
  });

  it("refuses broken percent-encoding in a password without showing it", () => {
    const err = thrown(() => parseUrl("redis://u:Zx9q%zzRt7w@h"));
    expect(err).toBeInstanceOf(ConfigurationError);
    expect((err as Error).message).toMatch(/password is not valid percent-encoding.*%25/);
    expect(findSecrets(err, ["Zx9q", "Rt7w", "%zz"])).toEqual([]);
  });

  it("redacts every form of userinfo", () => {
    expect(redact("redis://u:Zx9q/Rt7w#Lp3m@h:1/2")).toBe("redis://u:***@h:1/2");
    expect(redact("redis://:Zx9q?Rt7w@h")).toBe("redis://:***@h");
    expect(redact("redis://Zx9q@Rt7w@h")).toBe("redis://***@h");
    expect(redact("u:Zx9q//Rt7w@h")).toBe("u:***@h");
    expect(redact("redis://h:1/2")).toBe("redis://h:1/2");
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

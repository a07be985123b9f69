/**
 * The package as users get it: the `npm pack` tarball unpacked into a fresh
 * app, loaded with `import` and `require`, type-checked with NodeNext
 * resolution, and used against a real Redis.
 */
import { execFileSync, spawnSync } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type StandaloneTopology, startStandalone } from "../support/index.js";

const root = resolve(import.meta.dirname, "../..");
let app: string;
let files: string[];
let topology: StandaloneTopology;

function run(cmd: string, args: string[], cwd = app): string {
  const r = spawnSync(cmd, args, { cwd, encoding: "utf8", timeout: 60_000 });
  if (r.status !== 0) {
    throw new Error(`${cmd} ${args.join(" ")} exited ${r.status}:\n${r.stdout}\n${r.stderr}`);
  }
  return r.stdout;
}

/** True when dist/ was built after the last change to any file in src/. */
function buildIsFresh(): boolean {
  const built = join(root, "dist/cjs/index.js");
  if (!existsSync(built)) return false;
  const builtAt = statSync(built).mtimeMs;
  const newest = readdirSync(join(root, "src"), { recursive: true })
    .map((f) => statSync(join(root, "src", String(f))).mtimeMs)
    .reduce((a, b) => Math.max(a, b), 0);
  return builtAt > newest;
}

beforeAll(async () => {
  topology = await startStandalone();
  // From fresh sources only: a dist/ older than src/ would pass or fail for
  // the wrong reasons. `npm test` has just built; a lone suite run may not have.
  if (!buildIsFresh()) run("npm", ["run", "build"], root);
  app = mkdtempSync(join(tmpdir(), "crha-pack-"));
  const packed = JSON.parse(
    execFileSync("npm", ["pack", "--json", "--ignore-scripts", "--pack-destination", app], {
      cwd: root,
      encoding: "utf8",
    }),
  ) as Array<{ filename: string; files: Array<{ path: string }> }>;
  files = packed[0]!.files.map((f) => f.path);
  const target = join(app, "node_modules", "connect-redis-ha");
  mkdirSync(target, { recursive: true });
  run("tar", ["-xzf", join(app, packed[0]!.filename), "-C", target, "--strip-components=1"]);
  // The app's own dependencies: what `npm install` would put beside the package.
  for (const dep of [
    "ioredis",
    "express-session",
    "msgpackr",
    "cluster-key-slot",
    "@types",
    "typescript",
  ]) {
    symlinkSync(join(root, "node_modules", dep), join(app, "node_modules", dep));
  }
  writeFileSync(join(app, "package.json"), JSON.stringify({ name: "app", private: true }));
}, 120_000);

afterAll(async () => {
  if (app) rmSync(app, { recursive: true, force: true });
  await topology?.stop();
});

const USE = `
  const store = new RedisStore({ url: process.argv[2], prefix: "pack:" });
  await store.set("a", { cookie: { originalMaxAge: null }, via: FORMAT });
  const got = await store.get("a");
  await store.clear();
  await store.close();
  console.log(JSON.stringify({
    via: got.via,
    topology: store.topology,
    serializers: typeof msgpackSerializer.stringify + typeof jsonSerializer.parse,
    error: new RedisStoreError("X", "m") instanceof Error,
  }));
`;

describe("the packed package", () => {
  it("ships the builds, types, README and LICENSE, and nothing else", () => {
    expect(files).toContain("dist/esm/index.js");
    expect(files).toContain("dist/esm/index.d.ts");
    expect(files).toContain("dist/cjs/index.js");
    expect(files).toContain("dist/cjs/index.d.ts");
    expect(files).toContain("dist/cjs/package.json");
    expect(files).toContain("README.md");
    expect(files).toContain("LICENSE");
    expect(files.filter((f) => /^(src|test|bench|examples|compose)\//.test(f))).toEqual([]);
  });

  it("works with import (ESM)", () => {
    writeFileSync(
      join(app, "esm.mjs"),
      `import { RedisStore, msgpackSerializer, jsonSerializer, RedisStoreError } from "connect-redis-ha";
      const FORMAT = "esm"; ${USE}`,
    );
    const out = JSON.parse(run(process.execPath, ["esm.mjs", topology.url]));
    expect(out).toEqual({
      via: "esm",
      topology: "standalone",
      serializers: "functionfunction",
      error: true,
    });
  });

  it("works with require (CommonJS)", () => {
    writeFileSync(
      join(app, "cjs.cjs"),
      `const { RedisStore, msgpackSerializer, jsonSerializer, RedisStoreError } = require("connect-redis-ha");
      const FORMAT = "cjs"; (async () => { ${USE} })();`,
    );
    const out = JSON.parse(run(process.execPath, ["cjs.cjs", topology.url]));
    expect(out).toEqual({
      via: "cjs",
      topology: "standalone",
      serializers: "functionfunction",
      error: true,
    });
  });

  it("type-checks for ESM and CommonJS consumers", () => {
    const usage = `
      import session from "express-session";
      import { RedisStore, type RedisStoreOptions, type Serializer, SessionDecodeError } from "connect-redis-ha";
      const opts: RedisStoreOptions = { url: "redis://127.0.0.1:6379", ttl: (s) => (s ? 60 : 30) };
      const serializer: Serializer = { stringify: JSON.stringify, parse: JSON.parse };
      const store = new RedisStore({ ...opts, serializer });
      session({ store, secret: "s", resave: false, saveUninitialized: false });
      const n: Promise<number> = store.length();
      const e: string = new SessionDecodeError("m").code;
      // @ts-expect-error ttl is a number or a function
      new RedisStore({ ttl: "1d" });
      export { n, e };
    `;
    writeFileSync(join(app, "types.mts"), usage);
    writeFileSync(join(app, "types.cts"), usage);
    writeFileSync(
      join(app, "tsconfig.json"),
      JSON.stringify({
        compilerOptions: {
          module: "NodeNext",
          moduleResolution: "NodeNext",
          strict: true,
          noEmit: true,
          skipLibCheck: true,
          types: ["node"],
          esModuleInterop: true,
        },
        files: ["types.mts", "types.cts"],
      }),
    );
    run(process.execPath, [join(app, "node_modules/typescript/bin/tsc"), "-p", "tsconfig.json"]);
  });
});

// Builds dist/esm (native ESM) and dist/cjs (CommonJS) from one source with tsc.
// Two tsc passes are simpler than a bundler and keep declaration files exact.
import { execFileSync } from "node:child_process";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";

const tsc = new URL("../node_modules/typescript/bin/tsc", import.meta.url).pathname;
rmSync("dist", { recursive: true, force: true });
execFileSync(process.execPath, [tsc, "-p", "tsconfig.build.json"], { stdio: "inherit" });
execFileSync(
  process.execPath,
  [
    tsc,
    "-p",
    "tsconfig.build.json",
    "--module",
    "CommonJS",
    "--moduleResolution",
    "Node10",
    "--outDir",
    "dist/cjs",
  ],
  { stdio: "inherit" },
);
mkdirSync("dist/cjs", { recursive: true });
// The package is "type": "module"; mark the CJS folder so Node loads its .js as CommonJS.
writeFileSync("dist/cjs/package.json", `${JSON.stringify({ type: "commonjs" }, null, 2)}\n`);
writeFileSync("dist/esm/package.json", `${JSON.stringify({ type: "module" }, null, 2)}\n`);

/**
 * Keeps the README's option table, the TSDoc on RedisStoreOptions and the
 * `defaults` object saying the same thing.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { defaults } from "../../src/options.js";

const source = readFileSync(new URL("../../src/options.ts", import.meta.url), "utf8");
const readme = readFileSync(new URL("../../README.md", import.meta.url), "utf8");

/** Members of `interface RedisStoreOptions` with the text of their @default tag. */
function documentedOptions(): Map<string, string | undefined> {
  const start = source.indexOf("export interface RedisStoreOptions {");
  const end = source.indexOf("\n}\n", start);
  const body = source.slice(start, end);
  const out = new Map<string, string | undefined>();
  const member = /(\/\*\*([\s\S]*?)\*\/\s*)?\n\s*([a-zA-Z]+)\?:/g;
  for (const m of body.matchAll(member)) {
    const doc = m[2] ?? "";
    const tag = /@default\s+([^\n*]+)/.exec(doc)?.[1]?.trim();
    out.set(m[3]!, tag);
  }
  return out;
}

/** README option table: option name → default cell (backticks removed). */
function readmeOptions(): Map<string, string> {
  const section = readme.slice(readme.indexOf("## Options"), readme.indexOf("### Keys and values"));
  const out = new Map<string, string>();
  for (const line of section.split("\n")) {
    const cells = line.split(/(?<!\\)\|/).map((c) => c.trim());
    if (cells.length < 4 || !cells[1]?.startsWith("`")) continue;
    const names = [...cells[1].matchAll(/`([a-zA-Z]+)`/g)].map((m) => m[1]!);
    for (const name of names) out.set(name, cells[2]!.replace(/`/g, ""));
  }
  return out;
}

const literal = (tag: string) => tag.replace(/\s+(on a|same as|\().*$/, "").trim();

describe("README options table", () => {
  const documented = documentedOptions();
  const table = readmeOptions();

  it("finds the options in both places", () => {
    expect(documented.size).toBeGreaterThan(25);
    expect(table.size).toBeGreaterThan(25);
  });

  it("lists every option of RedisStoreOptions, and no other", () => {
    expect([...table.keys()].sort()).toEqual([...documented.keys()].sort());
  });

  it("shows each documented default", () => {
    for (const [name, tag] of documented) {
      if (tag === undefined) continue;
      const cell = table.get(name)!;
      if (tag.startsWith("undefined")) expect(cell, name).toMatch(/^—/);
      else expect(cell.replace(/\s+/g, ""), name).toContain(literal(tag).replace(/\s+/g, ""));
    }
  });

  it("matches the defaults object", () => {
    const tags = documented;
    const same = (name: string, value: unknown) =>
      expect(JSON.parse(literal(tags.get(name)!)), name).toEqual(value);
    same("prefix", defaults.prefix);
    same("scanCount", defaults.scanCount);
    same("ttl", defaults.ttl);
    same("touchAfter", defaults.touchAfter);
    same("disconnectGraceMs", defaults.disconnectGraceMs);
    same("serializer", defaults.serializer);
    same("topology", defaults.topology);
    same("closeClient", defaults.closeClient);
    same("disableTTL", defaults.disableTTL);
    same("disableTouch", defaults.disableTouch);
  });
});

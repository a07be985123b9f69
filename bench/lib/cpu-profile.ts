import { existsSync } from "node:fs";
import type { Profiler, Runtime } from "node:inspector";
import { findSourceMap, type SourceMapping } from "node:module";
import { basename, isAbsolute, relative, sep } from "node:path";
import { fileURLToPath } from "node:url";

/**
 * Reads a V8 CPU profile (what `Profiler.stop` or `node --cpu-prof` returns)
 * into self time per bucket and per function. A bucket is a coarse owner of
 * the time: one file of the store, a package, a part of Node, GC, idle.
 */

export interface Roots {
  /** Folder of the store under test (a dist copy, or src/ under tsx): its files get a bucket each. */
  store: string;
  /** The bench folder: the driver and the raw peer. */
  bench: string;
  /** Paths in the function table are shown relative to this. */
  repo: string;
}

export interface Bucketed {
  name: string;
  selfUs: number;
}

export interface FunctionTime extends Bucketed {
  where: string;
  bucket: string;
}

export interface ProfileSummary {
  /** Wall time the profile covers, in microseconds. */
  totalUs: number;
  idleUs: number;
  samples: number;
  buckets: Bucketed[];
  functions: FunctionTime[];
}

export const IDLE = "idle (event loop waiting for I/O)";

// V8's pseudo-frames: they have no script, and their names are fixed.
const PSEUDO: Record<string, string> = {
  "(garbage collector)": "GC",
  "(idle)": IDLE,
  "(program)": "(program): native, not attributed to JS",
  "(root)": "(root)",
};

// ioredis' own dependencies belong to the client's cost, not to a package the store chose.
const IOREDIS_DEPS = new Set([
  "@ioredis/commands",
  "cluster-key-slot",
  "debug",
  "denque",
  "ms",
  "redis-errors",
  "standard-as-callback",
]);

function nodeBucket(module: string): string {
  if (
    module === "net" ||
    module === "internal/stream_base_commons" ||
    module.startsWith("internal/net")
  ) {
    return "node: net (sockets)";
  }
  if (module === "stream" || module.startsWith("internal/streams/")) return "node: streams";
  if (
    module === "timers" ||
    module.startsWith("internal/timers") ||
    module === "internal/process/task_queues" ||
    module === "internal/async_hooks"
  ) {
    return "node: ticks and timers";
  }
  if (module === "buffer" || module === "internal/buffer") return "node: buffer";
  if (module === "events") return "node: events";
  return "node: other";
}

function pathOf(url: string): string | undefined {
  if (url.startsWith("file://")) {
    try {
      return fileURLToPath(url);
    } catch {
      return undefined;
    }
  }
  return isAbsolute(url) ? url : undefined;
}

function inside(path: string, dir: string): boolean {
  const rel = relative(dir, path);
  return rel !== "" && !rel.startsWith("..") && !isAbsolute(rel);
}

const NODE_MODULES = `${sep}node_modules${sep}`;

/** The bucket of a script URL; `undefined` for a frame without one (a builtin or C++ binding). */
export function bucketOfUrl(url: string, roots: Roots): string | undefined {
  if (url === "") return undefined;
  if (url.startsWith("node:")) return nodeBucket(url.slice("node:".length));
  const path = pathOf(url);
  if (path === undefined) return `other: ${url}`;
  const nm = path.lastIndexOf(NODE_MODULES);
  if (nm !== -1) {
    const [first = "", second = ""] = path.slice(nm + NODE_MODULES.length).split(sep);
    const pkg = first.startsWith("@") ? `${first}/${second}` : first;
    return IOREDIS_DEPS.has(pkg) ? `ioredis (dep: ${pkg})` : pkg;
  }
  // The store first: its default copy lives under bench/.results/.
  if (inside(path, roots.store)) return `connect-redis-ha: ${relative(roots.store, path)}`;
  if (inside(path, roots.bench)) return `bench: ${relative(roots.bench, path)}`;
  return `other: ${relative(roots.repo, path)}`;
}

/**
 * `file:line` of a frame, in the source when the script has a source map
 * (tsx enables them, and dist/ ships them): bench files run through tsx
 * report line 1 otherwise. A dist copy's map points beside the copy, so a
 * source that is not there is shown by its file name.
 */
function whereOf(frame: Runtime.CallFrame, roots: Roots): string {
  const path = pathOf(frame.url);
  if (path === undefined) return `${frame.url}:${frame.lineNumber + 1}`;
  const entry = findSourceMap(path)?.findEntry(frame.lineNumber, frame.columnNumber) as
    | Partial<SourceMapping>
    | undefined;
  if (entry?.originalSource !== undefined && entry.originalLine !== undefined) {
    const source = pathOf(entry.originalSource) ?? entry.originalSource;
    const shown = existsSync(source) ? relative(roots.repo, source) : basename(source);
    return `${shown}:${entry.originalLine + 1}`;
  }
  return `${relative(roots.repo, path)}:${frame.lineNumber + 1}`;
}

export function summarizeProfile(profile: Profiler.Profile, roots: Roots): ProfileSummary {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parentOf = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parentOf.set(c, n.id);

  // A sample's time runs until the next sample (how DevTools reads it).
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  const selfUs = new Map<number, number>();
  let at = profile.startTime;
  const stamps = deltas.map((d) => {
    at += d;
    return at;
  });
  samples.forEach((id, i) => {
    const next = i + 1 < stamps.length ? stamps[i + 1]! : profile.endTime;
    selfUs.set(id, (selfUs.get(id) ?? 0) + Math.max(0, next - stamps[i]!));
  });

  // A builtin or binding (no URL) is charged to the nearest caller that has one:
  // JSON.parse called from the serializer is the serializer's cost.
  const scripted = new Map<number, Profiler.ProfileNode | undefined>();
  const scriptedCaller = (id: number): Profiler.ProfileNode | undefined => {
    if (scripted.has(id)) return scripted.get(id);
    const node = byId.get(id)!;
    const parent = parentOf.get(id);
    const found =
      node.callFrame.url !== "" ? node : parent === undefined ? undefined : scriptedCaller(parent);
    scripted.set(id, found);
    return found;
  };

  const buckets = new Map<string, number>();
  const functions = new Map<string, FunctionTime>();
  let idleUs = 0;
  for (const [id, us] of selfUs) {
    if (us === 0) continue;
    const node = byId.get(id)!;
    const frame = node.callFrame;
    const pseudo = frame.url === "" ? PSEUDO[frame.functionName] : undefined;
    const owner = pseudo === undefined ? scriptedCaller(id) : undefined;
    const bucket =
      pseudo ??
      (owner ? bucketOfUrl(owner.callFrame.url, roots) : undefined) ??
      "native, no JS caller";
    if (bucket === IDLE) idleUs += us;
    buckets.set(bucket, (buckets.get(bucket) ?? 0) + us);

    const name = frame.functionName || "(anonymous)";
    const native = frame.url === "" && pseudo === undefined;
    const where = pseudo
      ? "-"
      : native
        ? owner
          ? `native, from ${owner.callFrame.functionName || "(anonymous)"} ${whereOf(owner.callFrame, roots)}`
          : "native"
        : whereOf(frame, roots);
    const key = `${name}\0${where}`;
    const fn = functions.get(key) ?? { name, where, bucket, selfUs: 0 };
    fn.selfUs += us;
    functions.set(key, fn);
  }

  const bySelf = (a: Bucketed, b: Bucketed) => b.selfUs - a.selfUs;
  return {
    totalUs: profile.endTime - profile.startTime,
    idleUs,
    samples: samples.length,
    buckets: [...buckets].map(([name, us]) => ({ name, selfUs: us })).sort(bySelf),
    functions: [...functions.values()].sort(bySelf),
  };
}

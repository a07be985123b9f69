import { type ChildProcess, spawn } from "node:child_process";
import {
  accessSync,
  closeSync,
  constants,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import type { AdminPool, AdminTarget } from "./admin.js";
import { LOCALHOST } from "./ports.js";
import type { NodeHandle } from "./types.js";
import { waitFor } from "./wait.js";

/** Every harness run dir lives here, so a later run can find what a crashed one left. */
export const HARNESS_ROOT = join(tmpdir(), "connect-redis-ha");

/** Set by the vitest globalSetup so every worker records its servers in one place. */
export const RUN_DIR_ENV = "REDIS_HA_RUN_DIR";

export function findOnPath(binary: string): string | undefined {
  for (const dir of (process.env.PATH ?? "").split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, binary);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not in this PATH entry
    }
  }
  return undefined;
}

let ownRunDir: string | undefined;

/**
 * The directory this process records its servers in: the one globalSetup made
 * for the whole vitest run, or else one owned by this process (CLI, scripts),
 * removed when it exits.
 */
export function runDir(): string {
  const shared = process.env[RUN_DIR_ENV];
  if (shared) {
    mkdirSync(join(shared, "pids"), { recursive: true });
    return shared;
  }
  if (!ownRunDir) {
    ownRunDir = createRunDir(process.pid);
  }
  return ownRunDir;
}

export function createRunDir(ownerPid: number): string {
  const dir = join(HARNESS_ROOT, `run-${ownerPid}-${Date.now().toString(36)}`);
  mkdirSync(join(dir, "pids"), { recursive: true });
  writeFileSync(join(dir, "owner"), String(ownerPid));
  return dir;
}

interface PidRecord {
  pid: number;
  port: number;
  dir: string;
}

const registry = new Map<number, RedisProcess>();
let safetyNetInstalled = false;

function register(node: RedisProcess): void {
  registry.set(node.pid, node);
  const record: PidRecord = { pid: node.pid, port: node.port, dir: node.dir };
  try {
    writeFileSync(join(runDir(), "pids", String(node.pid)), JSON.stringify(record));
  } catch {
    // The in-process registry still covers this process's own exit.
  }
  installSafetyNet();
}

function unregister(pid: number): void {
  registry.delete(pid);
  try {
    rmSync(join(runDir(), "pids", String(pid)), { force: true });
  } catch {
    // best effort: a stale record is checked against /proc before anyone kills by it
  }
}

/** Synchronous on purpose: it runs from `exit`, where nothing async completes. */
function killRegisteredSync(): void {
  for (const pid of registry.keys()) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
  if (ownRunDir) rmSync(ownRunDir, { recursive: true, force: true });
}

function onSignal(signal: NodeJS.Signals): void {
  killRegisteredSync();
  process.removeListener(signal, onSignal);
  // Someone else (the CLI, vitest) handles this signal and decides how to exit;
  // if nobody does, keep the default behaviour of dying from it.
  if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
}

function installSafetyNet(): void {
  if (safetyNetInstalled) return;
  safetyNetInstalled = true;
  process.on("exit", killRegisteredSync);
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) process.on(signal, onSignal);
}

/** Is `pid` still the redis-server we started on `port`, and not a recycled pid? */
function isOurRedis({ pid, port, dir }: PidRecord): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    // redis-server soon rewrites its title from "redis-server <conf>" to
    // "redis-server 127.0.0.1:PORT"; either names this node.
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, "utf8");
    return (
      cmdline.includes("redis-server") && (cmdline.includes(`:${port}`) || cmdline.includes(dir))
    );
  } catch {
    // Without /proc (macOS) trust the record: it was written for this pid minutes ago.
    return true;
  }
}

/**
 * Kills every server recorded under `dir` that is still running and removes
 * the dir. Used by the globalSetup teardown and by the sweep of dirs whose
 * owner died without cleaning up.
 */
export async function reapRunDir(dir: string): Promise<number[]> {
  const killed: number[] = [];
  const pidsDir = join(dir, "pids");
  const records = existsSync(pidsDir) ? readdirSync(pidsDir) : [];
  for (const name of records) {
    let record: PidRecord;
    try {
      record = JSON.parse(readFileSync(join(pidsDir, name), "utf8")) as PidRecord;
    } catch {
      continue;
    }
    if (!isOurRedis(record)) continue;
    try {
      process.kill(record.pid, "SIGKILL");
      killed.push(record.pid);
    } catch {
      // exited meanwhile
    }
  }
  await waitFor(
    `processes ${killed.join(", ")} to exit`,
    async () =>
      killed.every((pid) => {
        try {
          process.kill(pid, 0);
          return false;
        } catch {
          return true;
        }
      }),
    { timeoutMs: 5000 },
  );
  rmSync(dir, { recursive: true, force: true });
  return killed;
}

/** Run dirs under HARNESS_ROOT whose owning process is gone. */
export function orphanedRunDirs(): string[] {
  if (!existsSync(HARNESS_ROOT)) return [];
  const orphans: string[] = [];
  for (const name of readdirSync(HARNESS_ROOT)) {
    const dir = join(HARNESS_ROOT, name);
    let owner: number;
    try {
      owner = Number(readFileSync(join(dir, "owner"), "utf8"));
    } catch {
      continue;
    }
    try {
      process.kill(owner, 0);
    } catch (error) {
      // EPERM: alive, just someone else's.
      if ((error as NodeJS.ErrnoException).code === "ESRCH") orphans.push(dir);
    }
  }
  return orphans;
}

export interface NodeSpec {
  /** For messages: "cluster node 3", "sentinel 2". */
  label: string;
  port: number;
  dir: string;
  confPath: string;
  /** Arguments after the config file, e.g. `--sentinel`. */
  args: string[];
  /** Credentials this node wants, for the readiness PING. */
  auth: Omit<AdminTarget, "host" | "port">;
}

const redisServer = () => {
  const bin = findOnPath("redis-server");
  if (!bin) throw new Error("redis-server is not on PATH");
  return bin;
};

/**
 * A redis-server process we own. The config file stays on disk so restart()
 * brings back the same node: same port, same dir, and the state Redis wrote
 * into its config (sentinel state, nodes.conf, replicaof after a failover).
 */
export class RedisProcess implements NodeHandle {
  readonly host = LOCALHOST;
  readonly port: number;
  readonly dir: string;
  pid = -1;
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  private running = false;
  private stopped = false;

  constructor(
    readonly spec: NodeSpec,
    private readonly admin: AdminPool,
  ) {
    this.port = spec.port;
    this.dir = spec.dir;
  }

  get alive(): boolean {
    return this.running;
  }

  get paused(): boolean {
    return this.stopped;
  }

  get target(): AdminTarget {
    return { host: this.host, port: this.port, ...this.spec.auth };
  }

  /** Spawns the process and resolves when it answers PING; rejects with its log if it dies first. */
  async start(timeoutMs: number): Promise<void> {
    if (this.running) throw new Error(`${this.spec.label} is already running (pid ${this.pid})`);
    const stderrPath = join(this.dir, "stderr.log");
    const stderr = openSync(stderrPath, "a");
    let child: ChildProcess;
    try {
      child = spawn(redisServer(), [this.spec.confPath, ...this.spec.args], {
        cwd: this.dir,
        stdio: ["ignore", stderr, stderr],
      });
    } finally {
      closeSync(stderr);
    }
    if (child.pid === undefined) {
      throw new Error(`Could not spawn redis-server for ${this.spec.label}`);
    }
    this.child = child;
    this.pid = child.pid;
    this.running = true;
    this.stopped = false;
    const pid = child.pid;
    this.exited = new Promise((resolve) => {
      child.once("exit", () => {
        if (this.child === child) {
          this.running = false;
          this.stopped = false;
        }
        unregister(pid);
        resolve();
      });
    });
    register(this);

    const died = this.exited.then(async () => {
      throw new Error(
        `${this.spec.label} (redis-server on port ${this.port}) exited during start-up:\n${await this.logTail()}`,
      );
    });
    try {
      await Promise.race([
        died,
        waitFor(
          `${this.spec.label} on port ${this.port} to answer PING`,
          async () => (await this.admin.call(this.target, "PING")) === "PONG",
          { timeoutMs },
        ),
      ]);
    } catch (error) {
      await this.kill();
      throw error;
    } finally {
      died.catch(() => {});
    }
  }

  async kill(signal: NodeJS.Signals = "SIGKILL"): Promise<void> {
    if (!this.running) return;
    process.kill(this.pid, signal);
    // A stopped process only acts on signals other than SIGKILL once continued.
    if (this.stopped && signal !== "SIGKILL") process.kill(this.pid, "SIGCONT");
    await this.exited;
  }

  pause(): void {
    this.assertRunning("pause");
    process.kill(this.pid, "SIGSTOP");
    this.stopped = true;
  }

  resume(): void {
    this.assertRunning("resume");
    process.kill(this.pid, "SIGCONT");
    this.stopped = false;
  }

  async restart(timeoutMs = 15_000): Promise<void> {
    await this.kill();
    await this.start(timeoutMs);
  }

  /** The last lines of the node's logs, for error messages. */
  async logTail(lines = 20): Promise<string> {
    const parts: string[] = [];
    for (const file of ["stderr.log", "redis.log"]) {
      try {
        const text = (await readFile(join(this.dir, file), "utf8")).trimEnd();
        if (text) parts.push(text.split("\n").slice(-lines).join("\n"));
      } catch {
        // no such log yet
      }
    }
    return parts.join("\n") || "(no log output)";
  }

  private assertRunning(action: string): void {
    if (!this.running) {
      throw new Error(
        `Cannot ${action} ${this.spec.label} on port ${this.port}: it is not running`,
      );
    }
  }
}

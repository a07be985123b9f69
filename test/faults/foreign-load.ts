/**
 * A busy machine, bounded in time: child processes that hash and write files
 * with fsync, and one that hammers a redis-server of its own (started here on
 * a free port, never the Redis on 6379). They run beside a scenario the way an
 * `npm install` and another test suite did when issue 11 was seen.
 */
import { type ChildProcess, fork } from "node:child_process";
import { once } from "node:events";
import { rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { startNativeStandalone } from "../support/standalone.js";
import type { StandaloneTopology } from "../support/types.js";

const CHILD = fileURLToPath(new URL("./busy-child.mjs", import.meta.url));

export interface ForeignLoad {
  /** Ends every child (each also ends by itself after `durationMs`) and stops the server. */
  stop(): Promise<void>;
}

export interface ForeignLoadOptions {
  /** How long the children work; they exit by themselves afterwards. */
  durationMs: number;
  /** Children hashing and writing files. @default 1 */
  cpuWorkers?: number;
  /** Children hammering the extra redis-server. @default 1 */
  redisWorkers?: number;
}

function start(args: string[]): { child: ChildProcess; ready: Promise<void> } {
  const child = fork(CHILD, args, { stdio: ["ignore", "ignore", "inherit", "ipc"] });
  const ready = new Promise<void>((resolve, reject) => {
    child.once("message", (m) => (m === "ready" ? resolve() : reject(new Error(String(m)))));
    child.once("exit", (code) =>
      reject(new Error(`busy-child ${args[0]} exited with ${code} before it was ready`)),
    );
  });
  return { child, ready };
}

async function end(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, "exit");
  // Closing the channel asks it to stop after its current step (~20 ms); the
  // kill is only for a child that is stuck.
  if (child.connected) child.disconnect();
  const stuck = setTimeout(() => child.kill("SIGKILL"), 2000);
  await exited;
  clearTimeout(stuck);
}

/** Starts the load and resolves once every child is doing its work. */
export async function startForeignLoad(opts: ForeignLoadOptions): Promise<ForeignLoad> {
  const children: ChildProcess[] = [];
  const dirs: string[] = [];
  let server: StandaloneTopology | undefined;
  const stop = async () => {
    await Promise.all(children.splice(0).map(end));
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
    await server?.stop();
    server = undefined;
  };
  try {
    server = await startNativeStandalone();
    const duration = String(opts.durationMs);
    const started = [];
    for (let i = 0; i < (opts.cpuWorkers ?? 1); i++) {
      const dir = join(tmpdir(), `connect-redis-ha-busy-${process.pid}-${i}`);
      dirs.push(dir);
      started.push(start(["cpu-io", duration, dir]));
    }
    for (let i = 0; i < (opts.redisWorkers ?? 1); i++) {
      started.push(start(["redis", duration, String(server.node.port)]));
    }
    children.push(...started.map((s) => s.child));
    await Promise.all(started.map((s) => s.ready));
    return { stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

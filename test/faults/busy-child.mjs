/**
 * Foreign work for the loaded failover scenarios, run as a child process so it
 * competes with the test for the machine's cores the way an `npm install` or
 * another test suite beside it would, not for the test's own event loop.
 *
 *   node busy-child.mjs cpu-io <durationMs> <dir>     hashing + file writes with fsync
 *   node busy-child.mjs redis <durationMs> <port>     pipelined SET/GET against 127.0.0.1:<port>
 *
 * Each mode sends "ready" over IPC once it is doing its work, stops by itself
 * after durationMs, and stops at once when the parent goes away (the IPC
 * channel closes), so it can never outlive the scenario that started it.
 */
import { createHash, randomBytes } from "node:crypto";
import {
  closeSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  rmSync,
  writeSync,
} from "node:fs";
import { join } from "node:path";
import { setImmediate as turn } from "node:timers/promises";

const [mode, durationArg, target] = process.argv.slice(2);
const deadline = Date.now() + Number(durationArg);
let stopping = false;
process.on("disconnect", () => {
  stopping = true;
});
const running = () => !stopping && Date.now() < deadline;
const ready = () => process.send?.("ready");

async function cpuAndIo(dir) {
  mkdirSync(dir, { recursive: true });
  const block = randomBytes(1 << 20);
  let n = 0;
  ready();
  while (running()) {
    // ~20 ms of hashing, then a 1 MB file written, fsynced, read back and removed:
    // the mix of CPU, page cache and disk flushes an install produces.
    const until = Date.now() + 20;
    while (Date.now() < until) createHash("sha256").update(block).digest();
    const file = join(dir, `f${n++ % 4}`);
    const fd = openSync(file, "w");
    writeSync(fd, block);
    fsyncSync(fd);
    closeSync(fd);
    readFileSync(file);
    // Lets the IPC "disconnect" through.
    await turn();
  }
  rmSync(dir, { recursive: true, force: true });
}

async function hammer(port) {
  const { Redis } = await import("ioredis");
  const redis = new Redis({ host: "127.0.0.1", port, maxRetriesPerRequest: 1 });
  redis.on("error", () => {});
  const value = randomBytes(1024);
  await redis.ping();
  ready();
  let n = 0;
  while (running()) {
    const p = redis.pipeline();
    for (let i = 0; i < 200; i++) {
      const key = `busy:${n++ % 10_000}`;
      p.set(key, value);
      p.get(key);
    }
    await p.exec();
  }
  redis.disconnect();
}

if (mode === "cpu-io") await cpuAndIo(target);
else if (mode === "redis") await hammer(Number(target));
else throw new Error(`busy-child: unknown mode "${mode}"; use cpu-io or redis`);
process.exit(0);

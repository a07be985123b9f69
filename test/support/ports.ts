import { mkdirSync, readdirSync, readFileSync, unlinkSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const LOCALHOST = "127.0.0.1";

// Ports are drawn below the kernel's ephemeral range (32768+ on Linux): a port
// handed out by `listen(0)` comes from that range, so an outgoing connection
// could take it as its local port between a node's kill and its restart on the
// same port. Below it, only listeners compete, and the probe sees them.
const LOW = 20_000;
const HIGH = 32_000;
const RESERVED = new Set([6379, 16379, 26379]);

// Ports handed out by this process stay taken even after the node on them dies,
// because restart() wants the same port back.
const taken = new Set<number>();

// ...and no other test worker may take them either: a client whose node was
// killed on purpose would otherwise reconnect to another test's server that
// happened to draw the same port. A claim is a file named after the port,
// created exclusively (O_EXCL), so two workers never both hold one. Claims
// of processes that are gone are removed only by releaseStaleClaims(), from
// globalSetup, before any worker starts and after all have ended: removing
// them from workers would race (two workers could both see the old owner
// dead, and the second would delete the first one's fresh claim).
const CLAIMS = join(tmpdir(), "connect-redis-ha-ports");

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

function claim(port: number): boolean {
  mkdirSync(CLAIMS, { recursive: true });
  try {
    writeFileSync(join(CLAIMS, String(port)), String(process.pid), { flag: "wx" });
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw err;
  }
}

/** Removes the claims of processes that have exited; returns how many. */
export function releaseStaleClaims(): number {
  let released = 0;
  let names: string[];
  try {
    names = readdirSync(CLAIMS);
  } catch {
    return 0; // no claims yet
  }
  for (const name of names) {
    const file = join(CLAIMS, name);
    try {
      const owner = Number(readFileSync(file, "utf8"));
      if (owner > 0 && alive(owner)) continue;
      unlinkSync(file);
      released++;
    } catch {
      // Gone in the meantime.
    }
  }
  return released;
}

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.unref();
    server.once("error", () => resolve(false));
    server.listen({ host: LOCALHOST, port, exclusive: true }, () => {
      server.close(() => resolve(true));
    });
  });
}

/**
 * A port on 127.0.0.1 that nothing listens on right now. Another process may
 * still win the race for it; spawnRedis() retries on "Address already in use".
 */
export async function reservePort(): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = LOW + Math.floor(Math.random() * (HIGH - LOW));
    if (taken.has(port) || RESERVED.has(port) || !claim(port)) continue;
    taken.add(port);
    if (await canListen(port)) return port;
  }
  throw new Error(`No free TCP port found on ${LOCALHOST} between ${LOW} and ${HIGH}`);
}

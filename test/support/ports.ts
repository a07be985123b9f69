import { createServer } from "node:net";

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
    if (taken.has(port) || RESERVED.has(port)) continue;
    taken.add(port);
    if (await canListen(port)) return port;
  }
  throw new Error(`No free TCP port found on ${LOCALHOST} between ${LOW} and ${HIGH}`);
}

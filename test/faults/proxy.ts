/**
 * A TCP proxy in front of a real Redis that can cut a connection in the
 * middle of a reply: the network failure, not a fake server.
 */
import { connect, createServer, type Server, type Socket } from "node:net";

export interface CuttingProxy {
  port: number;
  /** The next reply chunk from Redis is forwarded only up to `bytes`, then both sides are closed. */
  cutNextReply(bytes: number): void;
  /** Replies seen cut so far. */
  readonly cuts: number;
  close(): Promise<void>;
}

export async function startCuttingProxy(target: {
  host: string;
  port: number;
}): Promise<CuttingProxy> {
  const sockets = new Set<Socket>();
  let armed: number | undefined;
  let cuts = 0;
  const server: Server = createServer((client) => {
    const upstream = connect(target.port, target.host);
    sockets.add(client);
    sockets.add(upstream);
    const closeBoth = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on("data", (chunk) => upstream.write(chunk));
    upstream.on("data", (chunk: Buffer) => {
      // Only cut replies large enough to be cut in the middle.
      if (armed !== undefined && chunk.length > armed) {
        const keep = armed;
        armed = undefined;
        cuts++;
        client.write(chunk.subarray(0, keep), closeBoth);
        return;
      }
      client.write(chunk);
    });
    client.on("close", closeBoth);
    upstream.on("close", closeBoth);
    client.on("error", () => {});
    upstream.on("error", () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  return {
    port,
    cutNextReply(bytes) {
      armed = bytes;
    },
    get cuts() {
      return cuts;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

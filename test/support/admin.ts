import type { ConnectionOptions } from "node:tls";
import { Redis } from "ioredis";
import type { Addr } from "./types.js";

/** Where an admin command goes, with the credentials that node wants. */
export interface AdminTarget extends Addr {
  username?: string | undefined;
  password?: string | undefined;
  /** Set for a node that serves TLS only. */
  tls?: ConnectionOptions | undefined;
}

/** @default 1500 */
const DEFAULT_TIMEOUT_MS = 1500;

/**
 * One reusable admin connection per node, so readiness polling at 25 ms does
 * not open a socket per probe. A connection that fails or times out is dropped
 * and rebuilt on the next call: nodes here get killed, paused and restarted on
 * purpose, and a stale socket must never stall a probe.
 */
export class AdminPool {
  private readonly clients = new Map<string, Redis>();

  constructor(private readonly timeoutMs = DEFAULT_TIMEOUT_MS) {}

  async call(target: AdminTarget, command: string, ...args: (string | number)[]): Promise<unknown> {
    const key = `${target.host}:${target.port}`;
    let client = this.clients.get(key);
    if (!client) {
      client = new Redis({
        host: target.host,
        port: target.port,
        username: target.username,
        password: target.password,
        tls: target.tls,
        // RESP2 keeps reply shapes plain (INFO as a string, SENTINEL as flat arrays).
        protocol: 2,
        lazyConnect: true,
        enableReadyCheck: false,
        enableOfflineQueue: true,
        disableClientInfo: true,
        retryStrategy: () => null,
        maxRetriesPerRequest: 0,
        connectTimeout: this.timeoutMs,
      });
      // Admin sockets die with their node; the failed call reports it.
      client.on("error", () => {});
      this.clients.set(key, client);
    }
    const current = client;
    let timer: NodeJS.Timeout | undefined;
    try {
      // A SIGSTOPped node still completes the TCP handshake (the kernel does it),
      // so only a timeout around the whole call notices that it never answers.
      return await Promise.race([
        current.call(command, ...args),
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () => reject(new Error(`${command} to ${key} got no reply in ${this.timeoutMs} ms`)),
            this.timeoutMs,
          );
        }),
      ]);
    } catch (error) {
      // A Redis error reply leaves the connection healthy; anything else may not.
      if (!isReplyError(error)) this.drop(key, current);
      throw error;
    } finally {
      clearTimeout(timer);
    }
  }

  /** INFO <section> parsed into its `key:value` fields. */
  async info(target: AdminTarget, section: string): Promise<Record<string, string>> {
    return parseInfo(String(await this.call(target, "INFO", section)));
  }

  close(): void {
    for (const [key, client] of this.clients) this.drop(key, client);
  }

  private drop(key: string, client: Redis): void {
    if (this.clients.get(key) === client) this.clients.delete(key);
    client.disconnect();
  }
}

function isReplyError(error: unknown): boolean {
  return error instanceof Error && error.name === "ReplyError";
}

export function parseInfo(text: string): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const line of text.split("\r\n")) {
    const colon = line.indexOf(":");
    if (colon > 0 && !line.startsWith("#")) fields[line.slice(0, colon)] = line.slice(colon + 1);
  }
  return fields;
}

/** SENTINEL replies in RESP2 come as `[k1, v1, k2, v2, ...]`. */
export function pairsToRecord(reply: unknown): Record<string, string> {
  const fields: Record<string, string> = {};
  if (!Array.isArray(reply)) return fields;
  for (let i = 0; i + 1 < reply.length; i += 2) fields[String(reply[i])] = String(reply[i + 1]);
  return fields;
}

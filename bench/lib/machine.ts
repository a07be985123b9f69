import { execFileSync } from "node:child_process";
import os from "node:os";
import { Redis } from "ioredis";

/** What a result depends on; printed above every table and stored with it. */
export interface Machine {
  cpu: string;
  cores: number;
  memoryGb: number;
  os: string;
  node: string;
  redisServer: string;
  /** 1-minute load average when the scenario started: other work on the box skews results. */
  loadAverage: number;
}

/** `redis_version` of a running server, or of the redis-server binary on PATH. */
export async function redisServerVersion(addr?: { host: string; port: number }): Promise<string> {
  if (addr) {
    const client = new Redis({ host: addr.host, port: addr.port, lazyConnect: true });
    try {
      await client.connect();
      const info = String(await client.info("server"));
      return /redis_version:(\S+)/.exec(info)?.[1] ?? "unknown";
    } finally {
      client.disconnect();
    }
  }
  try {
    const out = execFileSync("redis-server", ["--version"], { encoding: "utf8" });
    return /v=(\S+)/.exec(out)?.[1] ?? out.trim();
  } catch {
    return "not installed";
  }
}

export async function describeMachine(addr?: { host: string; port: number }): Promise<Machine> {
  const cpus = os.cpus();
  return {
    cpu: cpus[0]?.model.trim() ?? "unknown",
    cores: cpus.length,
    memoryGb: Math.round(os.totalmem() / 2 ** 30),
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    redisServer: await redisServerVersion(addr),
    loadAverage: Math.round(os.loadavg()[0]! * 100) / 100,
  };
}

export function machineLine(m: Machine): string {
  return `${m.cpu}, ${m.cores} cores, ${m.memoryGb} GB, ${m.os}, Node ${m.node}, redis-server ${m.redisServer} (load average ${m.loadAverage} at start)`;
}

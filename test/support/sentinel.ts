import { join } from "node:path";
import { AdminPool, type AdminTarget, pairsToRecord } from "./admin.js";
import {
  baseConfig,
  clientTls,
  DEFAULT_START_TIMEOUT_MS,
  dataAuth,
  dataAuthConfig,
  launchNode,
  listenConfig,
  quote,
  type ServerOptions,
  scheme,
  topologyDir,
  topologyTls,
  userInfo,
  validateServerOptions,
} from "./config.js";
import { LOCALHOST } from "./ports.js";
import type { ManagedNode } from "./remote.js";
import { teardown } from "./teardown.js";
import type { TlsMaterial } from "./tls.js";
import type { Addr, NodeHandle, ProviderName, SentinelTopology } from "./types.js";
import { waitFor } from "./wait.js";

export interface SentinelOptions extends ServerOptions {
  /** @default "mymaster" */
  masterName?: string;
  /** `requirepass` of the sentinels, also used between sentinels. */
  sentinelPassword?: string;
  /**
   * `down-after-milliseconds`: how long a silent master stays up in the sentinels' eyes.
   * @default 1000
   */
  downAfterMs?: number;
  /**
   * `failover-timeout`. A sentinel will not start a second automatic failover of
   * the same master within twice this time, so tests that fail over twice in a
   * row want it small.
   * @default 3000
   */
  failoverTimeoutMs?: number;
}

const SENTINELS = 3;
const REPLICAS = 2;
const QUORUM = 2;

const sameAddr = (a: Addr, b: Addr) => a.host === b.host && a.port === b.port;

/** 1 master + 2 replicas + 3 sentinels (quorum 2) on free ports of 127.0.0.1. */
export async function startNativeSentinel(opts: SentinelOptions = {}): Promise<SentinelTopology> {
  validateServerOptions(opts);
  const masterName = opts.masterName ?? "mymaster";
  const timeoutMs = opts.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS;
  const dir = topologyDir("sentinel");
  const admin = new AdminPool();
  const stop = teardown(dir, admin);
  const tls = await topologyTls(opts, dir).catch(async (error: unknown) => {
    await stop.run();
    throw error;
  });
  const auth = dataAuth(opts, tls);
  const sentinelAuth = { password: opts.sentinelPassword, ...clientTls(tls) };

  const dataNode = (role: "master" | "replica", index: number, master?: Addr) => {
    const label = role === "master" ? "master" : `replica ${index}`;
    const nodeDir = join(dir, role === "master" ? "master" : `replica-${index}`);
    return launchNode({
      label: `sentinel group ${label}`,
      dir: nodeDir,
      context: { role, index },
      config: (port) => [
        ...baseConfig(port, nodeDir, tls),
        ...dataAuthConfig(opts),
        ...(master ? [`replicaof ${master.host} ${master.port}`] : []),
      ],
      opts,
      args: opts.extraArgs,
      auth,
      admin,
      timeoutMs,
      track: stop.track,
    });
  };

  try {
    const master = await dataNode("master", 0);
    const replicas = await Promise.all(
      Array.from({ length: REPLICAS }, (_, i) => dataNode("replica", i, master)),
    );
    // Sentinels learn the replicas from the master's INFO; starting them only
    // once both replicas are linked means the first INFO already lists them.
    await waitFor(
      "both replicas to report master_link_status:up",
      async (note) => {
        const states = await Promise.all(
          replicas.map(async (r) => (await admin.info(r.target, "replication")).master_link_status),
        );
        note(`master_link_status: ${states.join(", ")}`);
        return states.every((s) => s === "up");
      },
      { timeoutMs },
    );

    const sentinels = await Promise.all(
      Array.from({ length: SENTINELS }, (_, index) => {
        const nodeDir = join(dir, `sentinel-${index}`);
        return launchNode({
          label: `sentinel ${index}`,
          dir: nodeDir,
          context: { role: "sentinel", index },
          config: (port) => sentinelConfig(port, nodeDir, master, masterName, opts, tls),
          opts,
          args: ["--sentinel"],
          auth: sentinelAuth,
          admin,
          timeoutMs,
          track: stop.track,
        });
      }),
    );

    const topology = new SentinelGroup({
      provider: "native",
      controllable: true,
      masterName,
      sentinels,
      dataNodes: [master, ...replicas],
      admin,
      url: sentinelUrl(auth, sentinels, masterName, tls !== undefined),
      tls,
      stop: stop.run,
    });
    await topology.waitForSentinels(master, timeoutMs);
    return topology;
  } catch (error) {
    await stop.run();
    throw error;
  }
}

function sentinelConfig(
  port: number,
  dir: string,
  master: Addr,
  name: string,
  opts: SentinelOptions,
  tls: TlsMaterial | undefined,
): string[] {
  const lines = [
    ...listenConfig(port, tls),
    `bind ${LOCALHOST}`,
    `dir ${quote(dir)}`,
    `logfile ${quote(join(dir, "redis.log"))}`,
    "daemonize no",
    "protected-mode no",
    `sentinel monitor ${name} ${master.host} ${master.port} ${QUORUM}`,
    `sentinel down-after-milliseconds ${name} ${opts.downAfterMs ?? 1000}`,
    `sentinel failover-timeout ${name} ${opts.failoverTimeoutMs ?? 3000}`,
    // Both replicas resync at once after a failover: no reason to queue them here.
    `sentinel parallel-syncs ${name} ${REPLICAS}`,
  ];
  if (opts.password) lines.push(`sentinel auth-pass ${name} ${quote(opts.password)}`);
  if (opts.user) lines.push(`sentinel auth-user ${name} ${opts.user}`);
  if (opts.sentinelPassword) {
    lines.push(
      `requirepass ${quote(opts.sentinelPassword)}`,
      `sentinel sentinel-pass ${quote(opts.sentinelPassword)}`,
    );
  }
  return lines;
}

export function sentinelUrl(
  auth: { username?: string | undefined; password?: string | undefined },
  sentinels: Addr[],
  masterName: string,
  tls = false,
): string {
  const hosts = sentinels.map((s) => `${s.host}:${s.port}`).join(",");
  return `${scheme("-sentinel", tls)}://${userInfo(auth)}${hosts}#${encodeURIComponent(masterName)}`;
}

export interface SentinelGroupInit {
  provider: ProviderName;
  controllable: boolean;
  masterName: string;
  sentinels: ManagedNode[];
  dataNodes: ManagedNode[];
  admin: AdminPool;
  url: string;
  tls?: TlsMaterial | undefined;
  stop: () => Promise<void>;
  /** Makes a handle for a data node the sentinels name but the group did not know; without it such a node is an error. */
  adopt?: (addr: Addr) => ManagedNode;
}

/** Sentinel queries and failover waits, for servers we started or were given. */
export class SentinelGroup implements SentinelTopology {
  readonly kind = "sentinel";
  readonly provider: ProviderName;
  readonly controllable: boolean;
  readonly masterName: string;
  readonly sentinels: ManagedNode[];
  readonly dataNodes: ManagedNode[];
  readonly url: string;
  readonly tls: TlsMaterial | undefined;
  readonly stop: () => Promise<void>;
  private readonly admin: AdminPool;
  private readonly adopt: ((addr: Addr) => ManagedNode) | undefined;

  constructor(init: SentinelGroupInit) {
    this.provider = init.provider;
    this.controllable = init.controllable;
    this.masterName = init.masterName;
    this.sentinels = init.sentinels;
    this.dataNodes = init.dataNodes;
    this.admin = init.admin;
    this.url = init.url;
    this.tls = init.tls;
    this.stop = init.stop;
    this.adopt = init.adopt;
  }

  /** Sentinels that can answer right now. */
  private reachableSentinels(): ManagedNode[] {
    return this.sentinels.filter((s) => s.alive && !s.paused);
  }

  private async masterAddrFrom(sentinel: AdminTarget): Promise<Addr | undefined> {
    const reply = await this.admin.call(
      sentinel,
      "SENTINEL",
      "get-master-addr-by-name",
      this.masterName,
    );
    if (!Array.isArray(reply) || reply.length < 2) return undefined;
    return { host: String(reply[0]), port: Number(reply[1]) };
  }

  private dataNodeAt(addr: Addr): ManagedNode {
    let node = this.dataNodes.find((n) => sameAddr(n, addr));
    if (!node && this.adopt) {
      node = this.adopt(addr);
      this.dataNodes.push(node);
    }
    if (!node) {
      throw new Error(
        `Sentinels name ${addr.host}:${addr.port} as master of ${this.masterName}, which is not one of this topology's data nodes`,
      );
    }
    return node;
  }

  async waitForSentinels(master: Addr, timeoutMs: number): Promise<void> {
    await waitFor(
      `all ${SENTINELS} sentinels to name ${master.host}:${master.port} as ${this.masterName}, see ${SENTINELS - 1} peers and ${REPLICAS} healthy replicas`,
      async (note) => {
        const views = await Promise.all(
          this.sentinels.map(async (s) => {
            const addr = await this.masterAddrFrom(s.target);
            const peers = await this.admin.call(s.target, "SENTINEL", "sentinels", this.masterName);
            const replicas = await this.admin.call(
              s.target,
              "SENTINEL",
              "replicas",
              this.masterName,
            );
            const healthy = (Array.isArray(replicas) ? replicas : [])
              .map(pairsToRecord)
              .filter((r) => r.flags === "slave" && r["master-link-status"] === "ok");
            return {
              master: addr !== undefined && sameAddr(addr, master),
              peers: Array.isArray(peers) ? peers.length : 0,
              replicas: healthy.length,
            };
          }),
        );
        note(
          views
            .map(
              (v, i) =>
                `sentinel ${i}: master ${v.master ? "ok" : "?"}, ${v.peers} peers, ${v.replicas} replicas`,
            )
            .join("; "),
        );
        return views.every((v) => v.master && v.peers === SENTINELS - 1 && v.replicas === REPLICAS);
      },
      { timeoutMs },
    );
  }

  async currentMaster(): Promise<NodeHandle> {
    let lastError: unknown;
    for (const sentinel of this.reachableSentinels()) {
      try {
        const addr = await this.masterAddrFrom(sentinel.target);
        if (addr) return this.dataNodeAt(addr);
      } catch (error) {
        lastError = error;
      }
    }
    throw new Error(
      `No running sentinel named a master for ${this.masterName}${lastError ? `: ${(lastError as Error).message}` : ""}`,
    );
  }

  async replicas(): Promise<NodeHandle[]> {
    const master = await this.currentMaster();
    return this.dataNodes.filter((n) => n.alive && !sameAddr(n, master));
  }

  async failover(): Promise<NodeHandle> {
    const old = await this.currentMaster();
    // Right after another failover the sentinels may still be reconfiguring
    // replicas (-INPROG) or have none they trust yet (-NOGOODSLAVE); both pass.
    await waitFor(
      `a sentinel to accept SENTINEL FAILOVER ${this.masterName}`,
      async () => {
        const sentinel = this.reachableSentinels()[0];
        if (!sentinel) throw new Error("no sentinel is running");
        return (
          (await this.admin.call(sentinel.target, "SENTINEL", "failover", this.masterName)) === "OK"
        );
      },
      { timeoutMs: 10_000, intervalMs: 100 },
    );
    return this.waitForNewMaster(old);
  }

  async waitForNewMaster(old: Addr, timeoutMs = 15_000): Promise<NodeHandle> {
    return waitFor(
      `every running sentinel to name a master other than ${old.host}:${old.port} and that node to report role:master`,
      async (note) => {
        const sentinels = this.reachableSentinels();
        if (sentinels.length === 0) throw new Error("no sentinel is running");
        const named = await Promise.all(sentinels.map((s) => this.masterAddrFrom(s.target)));
        note(
          `sentinels name ${named.map((a) => (a ? `${a.host}:${a.port}` : "nothing")).join(", ")}`,
        );
        const first = named[0];
        if (!first || sameAddr(first, old)) return undefined;
        if (!named.every((a) => a !== undefined && sameAddr(a, first))) return undefined;
        const node = this.dataNodeAt(first);
        const role = (await this.admin.info(node.target, "replication")).role;
        note(`sentinels agree on ${first.host}:${first.port}, which reports role:${role}`);
        return role === "master" ? node : undefined;
      },
      { timeoutMs },
    );
  }
}

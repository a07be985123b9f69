import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { AdminPool } from "./admin.js";
import {
  baseConfig,
  DEFAULT_START_TIMEOUT_MS,
  dataAuth,
  dataAuthConfig,
  launchNode,
  type ServerOptions,
  scheme,
  topologyDir,
  topologyTls,
  userInfo,
  validateServerOptions,
} from "./config.js";
import { LOCALHOST, reservePort } from "./ports.js";
import { findOnPath } from "./process.js";
import type { ManagedNode } from "./remote.js";
import { teardown } from "./teardown.js";
import type { TlsMaterial } from "./tls.js";
import type {
  Addr,
  ClusterTopology,
  MigrateSlotOptions,
  NodeHandle,
  ProviderName,
} from "./types.js";
import { waitFor } from "./wait.js";

export interface ClusterOptions extends ServerOptions {
  /**
   * `cluster-node-timeout`: how long a silent master lasts before its replica
   * takes over (failover lands roughly 1.5x this later).
   * @default 1000
   */
  nodeTimeoutMs?: number;
}

const NODES = 6;
const MASTERS = 3;
const SLOTS = 16384;
const MIGRATE_BATCH = 100;

const execFileAsync = promisify(execFile);
const sameAddr = (a: Addr, b: Addr) => a.host === b.host && a.port === b.port;

/** One line of CLUSTER NODES. */
export interface ClusterNodeView {
  id: string;
  host: string;
  port: number;
  flags: Set<string>;
  /** Id of the master this node replicates, when it is a replica. */
  masterId: string | undefined;
  connected: boolean;
  /** Inclusive slot ranges; half-migrated slots (`[slot->-id]`) are left out. */
  slots: Array<[number, number]>;
}

export function parseClusterNodes(text: string): ClusterNodeView[] {
  return text
    .split("\n")
    .map((line) => line.trim())
    .filter(Boolean)
    .map((line) => {
      const [id = "", address = "", flags = "", master = "-", , , , link = "", ...slots] =
        line.split(" ");
      // ip:port@cport[,hostname]
      const hostPort = address.split("@")[0] ?? "";
      const colon = hostPort.lastIndexOf(":");
      return {
        id,
        host: hostPort.slice(0, colon),
        port: Number(hostPort.slice(colon + 1)),
        flags: new Set(flags.split(",")),
        masterId: master === "-" ? undefined : master,
        connected: link === "connected",
        slots: slots
          .filter((s) => !s.startsWith("["))
          .map((s) => {
            const [from, to = from] = s.split("-").map(Number) as [number, number?];
            return [from, to] as [number, number];
          }),
      };
    });
}

const failed = (n: ClusterNodeView) => n.flags.has("fail") || n.flags.has("fail?");
const ownsSlot = (n: ClusterNodeView, slot: number) =>
  n.slots.some(([from, to]) => slot >= from && slot <= to);

/** 6 nodes, 3 masters with one replica each, on free ports of 127.0.0.1. */
export async function startNativeCluster(opts: ClusterOptions = {}): Promise<ClusterTopology> {
  validateServerOptions(opts);
  const redisCli = findOnPath("redis-cli");
  if (!redisCli) {
    throw new Error(
      "redis-cli is not on PATH; the cluster is created with `redis-cli --cluster create`. Install it with `apt-get install -y redis-tools`.",
    );
  }
  const timeoutMs = opts.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS;
  const dir = topologyDir("cluster");
  const admin = new AdminPool();
  const stop = teardown(dir, admin);
  try {
    const tls = await topologyTls(opts, dir);
    const auth = dataAuth(opts, tls);
    const nodes = await Promise.all(
      Array.from({ length: NODES }, (_, index) => {
        const nodeDir = join(dir, `node-${index}`);
        return launchNode({
          label: `cluster node ${index}`,
          dir: nodeDir,
          context: { role: "cluster", index },
          config: async (port) => [
            ...baseConfig(port, nodeDir, tls),
            ...dataAuthConfig(opts),
            "cluster-enabled yes",
            "cluster-config-file nodes.conf",
            `cluster-node-timeout ${opts.nodeTimeoutMs ?? 1000}`,
            // An explicit bus port: port+10000 may be taken, or above 65535.
            `cluster-port ${await reservePort()}`,
            // Nodes bind 127.0.0.1 only, so that is the address to gossip and redirect to.
            `cluster-announce-ip ${LOCALHOST}`,
            "cluster-replica-no-failover no",
            // The bus between nodes (and MIGRATE) speaks TLS too.
            ...(tls ? ["tls-cluster yes"] : []),
          ],
          opts,
          args: opts.extraArgs,
          auth,
          admin,
          timeoutMs,
          track: stop.track,
        });
      }),
    );

    await execFileAsync(
      redisCli,
      [
        ...(opts.user ? ["--user", opts.user] : []),
        ...(tls ? ["--tls", "--cacert", tls.caFile] : []),
        "--cluster",
        "create",
        ...nodes.map((n) => `${n.host}:${n.port}`),
        "--cluster-replicas",
        "1",
        "--cluster-yes",
      ],
      {
        timeout: timeoutMs,
        // REDISCLI_AUTH keeps the password out of the process list.
        env: { ...process.env, ...(opts.password ? { REDISCLI_AUTH: opts.password } : {}) },
      },
    ).catch((error: Error & { stdout?: string; stderr?: string }) => {
      throw new Error(
        `redis-cli --cluster create failed: ${error.message}\n${error.stdout ?? ""}${error.stderr ?? ""}`,
      );
    });

    const topology = new ClusterGroup({
      provider: "native",
      controllable: true,
      nodes,
      admin,
      url: clusterUrl(auth, nodes, tls !== undefined),
      tls,
      stop: stop.run,
    });
    await topology.waitForFormation(timeoutMs);
    return topology;
  } catch (error) {
    await stop.run();
    throw error;
  }
}

export function clusterUrl(
  auth: { username?: string | undefined; password?: string | undefined },
  nodes: Addr[],
  tls = false,
): string {
  return `${scheme("-cluster", tls)}://${userInfo(auth)}${nodes.map((n) => `${n.host}:${n.port}`).join(",")}`;
}

export interface ClusterGroupInit {
  provider: ProviderName;
  controllable: boolean;
  nodes: ManagedNode[];
  admin: AdminPool;
  url: string;
  tls?: TlsMaterial | undefined;
  stop: () => Promise<void>;
  /** Makes a handle for a node the cluster reports but the group did not know; without it such a node is an error. */
  adopt?: (addr: Addr) => ManagedNode;
}

/** Cluster queries, slot moves and failover waits, for servers we started or were given. */
export class ClusterGroup implements ClusterTopology {
  readonly kind = "cluster";
  readonly provider: ProviderName;
  readonly controllable: boolean;
  readonly nodes: ManagedNode[];
  readonly url: string;
  readonly tls: TlsMaterial | undefined;
  readonly stop: () => Promise<void>;
  private readonly admin: AdminPool;
  private readonly adopt: ((addr: Addr) => ManagedNode) | undefined;
  /**
   * Slots each master owned when last seen with any: once a master is failed
   * over it shows none, and waitForFailover() still needs to know which slots
   * to watch.
   */
  private readonly lastSlots = new Map<string, Array<[number, number]>>();

  constructor(init: ClusterGroupInit) {
    this.provider = init.provider;
    this.controllable = init.controllable;
    this.nodes = init.nodes;
    this.admin = init.admin;
    this.url = init.url;
    this.tls = init.tls;
    this.stop = init.stop;
    this.adopt = init.adopt;
  }

  private reachable(): ManagedNode[] {
    return this.nodes.filter((n) => n.alive && !n.paused);
  }

  private nodeAt(addr: Addr): ManagedNode {
    let node = this.nodes.find((n) => sameAddr(n, addr));
    if (!node && this.adopt) {
      node = this.adopt(addr);
      this.nodes.push(node);
    }
    if (!node) throw new Error(`${addr.host}:${addr.port} is not a node of this cluster`);
    return node;
  }

  private async viewFrom(node: ManagedNode): Promise<ClusterNodeView[]> {
    const views = parseClusterNodes(String(await this.admin.call(node.target, "CLUSTER", "NODES")));
    for (const v of views) {
      if (v.slots.length > 0 && v.flags.has("master"))
        this.lastSlots.set(`${v.host}:${v.port}`, v.slots);
    }
    return views;
  }

  /** CLUSTER NODES from the first running node that answers. */
  private async view(): Promise<ClusterNodeView[]> {
    let lastError: unknown;
    for (const node of this.reachable()) {
      try {
        return await this.viewFrom(node);
      } catch (error) {
        lastError = error;
      }
    }
    throw new Error(
      `No cluster node answered CLUSTER NODES${lastError ? `: ${(lastError as Error).message}` : ""}`,
    );
  }

  private async clusterState(node: ManagedNode): Promise<string | undefined> {
    const info = String(await this.admin.call(node.target, "CLUSTER", "INFO"));
    return /cluster_state:(\w+)/.exec(info)?.[1];
  }

  async waitForFormation(timeoutMs: number): Promise<void> {
    await waitFor(
      `all ${NODES} nodes to report cluster_state:ok and agree on ${MASTERS} masters with 1 linked replica each`,
      async (note) => {
        const states = await Promise.all(this.nodes.map((n) => this.clusterState(n)));
        const views = await Promise.all(this.nodes.map((n) => this.viewFrom(n)));
        const signatures = views.map(formationSignature);
        note(
          `cluster_state ${states.join(",")}; views ${signatures.map((s) => s ?? "incomplete").join(" | ")}`,
        );
        if (!states.every((s) => s === "ok")) return false;
        if (!signatures.every((s) => s !== undefined && s === signatures[0])) return false;
        // Slot ownership agreed is not data flowing: WAIT-based tests need the links up.
        const replicas = this.nodes.filter((n) =>
          views[0]!.some((v) => sameAddr(v, n) && v.flags.has("slave")),
        );
        const links = await Promise.all(
          replicas.map(
            async (r) => (await this.admin.info(r.target, "replication")).master_link_status,
          ),
        );
        note(`replica links ${links.join(",")}`);
        return links.every((l) => l === "up");
      },
      { timeoutMs },
    );
  }

  async masters(): Promise<NodeHandle[]> {
    const views = await this.view();
    return views
      .filter((v) => v.flags.has("master") && !v.flags.has("fail") && v.slots.length > 0)
      .map((v) => this.nodeAt(v));
  }

  async replicaOf(master: Addr): Promise<NodeHandle | undefined> {
    const views = await this.view();
    const owner = views.find((v) => sameAddr(v, master));
    if (!owner) throw new Error(`${master.host}:${master.port} is not a node of this cluster`);
    const replica = views.find((v) => v.masterId === owner.id && !failed(v));
    return replica && this.nodeAt(replica);
  }

  private async slotOf(keyOrSlot: string | number): Promise<number> {
    if (typeof keyOrSlot === "number") {
      if (!Number.isInteger(keyOrSlot) || keyOrSlot < 0 || keyOrSlot >= SLOTS) {
        throw new RangeError(`Expected a slot from 0 to ${SLOTS - 1}, got \`${keyOrSlot}\``);
      }
      return keyOrSlot;
    }
    let lastError: unknown;
    for (const node of this.reachable()) {
      try {
        return Number(await this.admin.call(node.target, "CLUSTER", "KEYSLOT", keyOrSlot));
      } catch (error) {
        lastError = error;
      }
    }
    throw new Error(`No cluster node answered CLUSTER KEYSLOT: ${(lastError as Error)?.message}`);
  }

  async slotOwner(keyOrSlot: string | number): Promise<NodeHandle> {
    const slot = await this.slotOf(keyOrSlot);
    const owner = (await this.view()).find((v) => v.flags.has("master") && ownsSlot(v, slot));
    if (!owner) throw new Error(`No master owns slot ${slot}`);
    return this.nodeAt(owner);
  }

  async migrateSlot(slot: number, to: Addr, options: MigrateSlotOptions = {}): Promise<void> {
    await this.slotOf(slot);
    const views = await this.view();
    const source = views.find((v) => v.flags.has("master") && ownsSlot(v, slot));
    const target = views.find((v) => sameAddr(v, to));
    if (!source) throw new Error(`No master owns slot ${slot}`);
    if (!target?.flags.has("master")) {
      throw new Error(`Cannot migrate slot ${slot} to ${to.host}:${to.port}: it is not a master`);
    }
    if (source.id === target.id) return;
    const sourceNode = this.nodeAt(source);
    const targetNode = this.nodeAt(target);

    // Importing before migrating: otherwise the source may send ASK to a
    // target that does not accept the slot yet.
    await this.admin.call(targetNode.target, "CLUSTER", "SETSLOT", slot, "IMPORTING", source.id);
    await this.admin.call(sourceNode.target, "CLUSTER", "SETSLOT", slot, "MIGRATING", target.id);
    await this.moveKeys(slot, sourceNode, targetNode);
    if (options.beforeFinalize) {
      await options.beforeFinalize();
      await this.moveKeys(slot, sourceNode, targetNode);
    }
    // Target first, so the slot is never owned by nobody from a client's view.
    await this.admin.call(targetNode.target, "CLUSTER", "SETSLOT", slot, "NODE", target.id);
    await this.admin.call(sourceNode.target, "CLUSTER", "SETSLOT", slot, "NODE", target.id);
    // The other slot owners learn it now rather than by gossip. A node that a
    // stale view still calls master may have turned replica since; it refuses
    // SETSLOT and learns from its master instead.
    const otherMasters = views.filter(
      (v) => v.flags.has("master") && !failed(v) && v.slots.length > 0,
    );
    await Promise.all(
      otherMasters
        .filter((v) => v.id !== source.id && v.id !== target.id)
        .map((v) =>
          this.admin
            .call(this.nodeAt(v).target, "CLUSTER", "SETSLOT", slot, "NODE", target.id)
            .catch((error: Error) => {
              if (!/only with masters/i.test(error.message)) throw error;
            }),
        ),
    );
    await waitFor(
      `every running node to see slot ${slot} on ${to.host}:${to.port}`,
      async (note) => {
        const owners = await Promise.all(
          this.reachable().map(async (n) => {
            const owner = (await this.viewFrom(n)).find(
              (v) => v.flags.has("master") && ownsSlot(v, slot),
            );
            return owner ? `${owner.host}:${owner.port}` : "nobody";
          }),
        );
        note(`owners seen: ${owners.join(", ")}`);
        return owners.every((o) => o === `${to.host}:${to.port}`);
      },
    );
  }

  private async moveKeys(slot: number, from: ManagedNode, to: ManagedNode): Promise<void> {
    const { username, password } = from.target;
    const authArgs = password
      ? username
        ? ["AUTH2", username, password]
        : ["AUTH", password]
      : [];
    for (;;) {
      const keys = (await this.admin.call(
        from.target,
        "CLUSTER",
        "GETKEYSINSLOT",
        slot,
        MIGRATE_BATCH,
      )) as string[];
      if (keys.length === 0) return;
      await this.admin.call(
        from.target,
        "MIGRATE",
        to.host,
        to.port,
        "",
        0,
        5000,
        "REPLACE",
        ...authArgs,
        "KEYS",
        ...keys,
      );
    }
  }

  async failoverTo(
    replica: Addr,
    mode: "default" | "force" | "takeover" = "default",
  ): Promise<void> {
    const node = this.nodeAt(replica);
    const views = await this.viewFrom(node);
    const myself = views.find((v) => v.flags.has("myself"));
    const formerView = views.find((v) => v.id === myself?.masterId);
    const former = formerView && this.nodeAt(formerView);
    await this.admin.call(
      node.target,
      "CLUSTER",
      "FAILOVER",
      ...(mode === "default" ? [] : [mode]),
    );
    await this.waitUntilMaster(node, former, 15_000);
    await this.waitForClusterOk();
  }

  /**
   * Every running node sees `node` as a healthy master with slots (and the
   * master it replaced, if that one runs, as a replica), and `node` says so itself.
   */
  private async waitUntilMaster(
    node: ManagedNode,
    former: ManagedNode | undefined,
    timeoutMs: number,
  ): Promise<void> {
    const watched = former?.alive && !former.paused ? former : undefined;
    await waitFor(
      `every running node to see ${node.host}:${node.port} as a master that owns slots${
        watched ? ` and ${watched.host}:${watched.port} as a replica` : ""
      }`,
      async (note) => {
        const seen = await Promise.all(
          this.reachable().map(async (n) => {
            const views = await this.viewFrom(n);
            const v = views.find((x) => sameAddr(x, node));
            const promoted = v?.flags.has("master") === true && !failed(v) && v.slots.length > 0;
            const demoted =
              !watched || views.some((x) => sameAddr(x, watched) && x.flags.has("slave"));
            return promoted && demoted;
          }),
        );
        note(`${seen.filter(Boolean).length} of ${seen.length} nodes agree`);
        if (!seen.every(Boolean)) return false;
        return (await this.admin.info(node.target, "replication")).role === "master";
      },
      { timeoutMs },
    );
  }

  async waitForFailover(oldMaster: Addr, timeoutMs = 20_000): Promise<NodeHandle> {
    const key = `${oldMaster.host}:${oldMaster.port}`;
    if (!this.lastSlots.has(key)) await this.view();
    const slot = this.lastSlots.get(key)?.[0]?.[0];
    if (slot === undefined) throw new Error(`${key} has never been seen owning slots`);
    const started = Date.now();
    const successor = await waitFor(
      `a replica of ${key} to take over slot ${slot} in every running node's view`,
      async (note) => {
        const owners = await Promise.all(
          this.reachable().map(async (n) => {
            const owner = (await this.viewFrom(n)).find(
              (v) => v.flags.has("master") && !failed(v) && ownsSlot(v, slot),
            );
            return owner ? `${owner.host}:${owner.port}` : "nobody";
          }),
        );
        note(`owners of slot ${slot} seen: ${owners.join(", ")}`);
        const first = owners[0];
        if (!first || first === key || first === "nobody") return undefined;
        if (!owners.every((o) => o === first)) return undefined;
        const colon = first.lastIndexOf(":");
        return this.nodeAt({ host: first.slice(0, colon), port: Number(first.slice(colon + 1)) });
      },
      { timeoutMs },
    );
    await this.waitForClusterOk(Math.max(1000, timeoutMs - (Date.now() - started)));
    return successor;
  }

  async waitForClusterOk(timeoutMs = 15_000): Promise<void> {
    await waitFor(
      "every running node to report cluster_state:ok",
      async (note) => {
        const states = await Promise.all(this.reachable().map((n) => this.clusterState(n)));
        note(`cluster_state ${states.join(",")}`);
        return states.length > 0 && states.every((s) => s === "ok");
      },
      { timeoutMs },
    );
  }
}

/**
 * A node's view reduced to what every node must agree on once the cluster has
 * formed, or undefined while that view is still incomplete.
 */
function formationSignature(views: ClusterNodeView[]): string | undefined {
  if (views.length !== NODES) return undefined;
  if (
    views.some(
      (v) => failed(v) || !v.connected || v.flags.has("handshake") || v.flags.has("noaddr"),
    )
  ) {
    return undefined;
  }
  const masters = views.filter((v) => v.flags.has("master"));
  if (masters.length !== MASTERS) return undefined;
  const covered = masters.reduce(
    (sum, m) => sum + m.slots.reduce((s, [from, to]) => s + to - from + 1, 0),
    0,
  );
  if (covered !== SLOTS) return undefined;
  const parts: string[] = [];
  for (const master of masters.sort((a, b) => a.id.localeCompare(b.id))) {
    const replicas = views.filter((v) => v.masterId === master.id);
    if (replicas.length !== 1) return undefined;
    parts.push(`${master.id.slice(0, 8)}<${replicas[0]!.id.slice(0, 8)}`);
  }
  return parts.join(" ");
}

import type { TlsMaterial } from "./tls.js";

export type { TlsMaterial } from "./tls.js";

export type TopologyKind = "standalone" | "sentinel" | "cluster";

/** Which source provided a topology; see README "Providers". */
export type ProviderName = "env" | "native" | "containers";

export interface Addr {
  host: string;
  port: number;
}

/**
 * One server process. With a topology from the environment or a container the
 * process controls throw (see `controllable` on the topology); the address is
 * always usable.
 */
export interface NodeHandle extends Addr {
  pid: number;
  dir: string;
  /** Sends `signal` (default SIGKILL) and resolves once the process has exited. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** SIGSTOP: the node keeps its sockets but answers nothing, like a frozen VM. */
  pause(): void;
  /** SIGCONT after pause(). */
  resume(): void;
  /** Starts the node again on the same port, dir and config file; resolves when it answers PING. Kills it first if it is still running. */
  restart(): Promise<void>;
  readonly alive: boolean;
  readonly paused: boolean;
}

interface TopologyBase {
  /** Where the servers came from. */
  provider: ProviderName;
  /** False when the processes are not ours to kill/pause/restart (env or containers). */
  controllable: boolean;
  /**
   * The CA and certificate files when the topology was started with `tls: true`
   * (its URL then says `rediss`); pass `{ ca: tls.ca }` as the client's `tls`.
   */
  tls?: TlsMaterial | undefined;
  /** Stops every process this topology started and removes its files. Idempotent. */
  stop(): Promise<void>;
}

export interface StandaloneTopology extends TopologyBase {
  kind: "standalone";
  /** `redis://[user:pass@]127.0.0.1:PORT` */
  url: string;
  node: NodeHandle;
}

export interface SentinelTopology extends TopologyBase {
  kind: "sentinel";
  /** `redis-sentinel://[user:pass@]h1:p1,h2:p2,h3:p3#masterName` (credentials are the data nodes'). */
  url: string;
  masterName: string;
  sentinels: NodeHandle[];
  /** Master and replicas as started; which one is master changes with failovers. */
  dataNodes: NodeHandle[];
  /** The master a reachable sentinel names right now. */
  currentMaster(): Promise<NodeHandle>;
  /** Data nodes other than the current master that are running (they may still be resyncing). */
  replicas(): Promise<NodeHandle[]>;
  /** SENTINEL FAILOVER; resolves with the new master once every running sentinel names it and it reports role:master. */
  failover(): Promise<NodeHandle>;
  /** Resolves once every running sentinel names a master other than `old` and that node reports role:master. */
  waitForNewMaster(old: Addr, timeoutMs?: number): Promise<NodeHandle>;
}

export interface ClusterTopology extends TopologyBase {
  kind: "cluster";
  /** `redis-cluster://[user:pass@]h1:p1,...` listing every node. */
  url: string;
  nodes: NodeHandle[];
  /** Nodes that own slots and are not marked failed, as a reachable node sees them. */
  masters(): Promise<NodeHandle[]>;
  /** The healthy replica attached to `master`, if any. */
  replicaOf(master: Addr): Promise<NodeHandle | undefined>;
  /** The master that owns a key's slot (a string is a key, a number is a slot). */
  slotOwner(keyOrSlot: string | number): Promise<NodeHandle>;
  /**
   * Moves `slot` and its keys to master `to` (IMPORTING/MIGRATING, MIGRATE in
   * batches, SETSLOT NODE on every master) and waits until every running node
   * agrees. `beforeFinalize` runs while the slot is still half-moved (every
   * existing key on the target, the source answering ASK), for tests that want
   * to act mid-migration.
   */
  migrateSlot(slot: number, to: Addr, options?: MigrateSlotOptions): Promise<void>;
  /** CLUSTER FAILOVER [FORCE|TAKEOVER] on `replica`; resolves once every running node sees it as a master and the cluster is ok. */
  failoverTo(replica: Addr, mode?: "default" | "force" | "takeover"): Promise<void>;
  /** After `oldMaster` died or froze: resolves with the replica that took over its slots, once the cluster is ok again. */
  waitForFailover(oldMaster: Addr, timeoutMs?: number): Promise<NodeHandle>;
  /** Every running, unpaused node reports cluster_state:ok. */
  waitForClusterOk(timeoutMs?: number): Promise<void>;
}

export interface MigrateSlotOptions {
  beforeFinalize?: () => Promise<void> | void;
}

export type Topology = StandaloneTopology | SentinelTopology | ClusterTopology;

export type TopologyFor<K extends TopologyKind> = Extract<Topology, { kind: K }>;

import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { AdminPool, AdminTarget } from "./admin.js";
import { LOCALHOST, reservePort } from "./ports.js";
import { RedisProcess, runDir } from "./process.js";
import { createTlsMaterial, type TlsMaterial } from "./tls.js";

/** What a `configure` hook is told about the node it configures. */
export interface NodeContext {
  role: "standalone" | "master" | "replica" | "sentinel" | "cluster";
  /** Position within its role: replica 0 and 1, sentinel 0..2, cluster node 0..5. */
  index: number;
  port: number;
  dir: string;
}

/** Options every topology takes. */
export interface ServerOptions {
  /**
   * Password of the data nodes: `requirepass` (and `masterauth`), or the ACL
   * user's password when `user` is set.
   */
  password?: string;
  /**
   * ACL user to create on every data node with every permission, for tests of
   * username/password auth. The `default` user is turned off so that nothing
   * connects without credentials. Requires `password`.
   */
  user?: string;
  /**
   * Serve TLS only: every node (sentinels included) gets `port 0` and a
   * `tls-port`, with a CA and server certificate made by `openssl` for this
   * topology; replication, the cluster bus and sentinel links use TLS too.
   * URLs become `rediss://`, `rediss-sentinel://`, `rediss-cluster://`, and the
   * topology's `tls.ca` is the CA a client must trust.
   * @default false
   */
  tls?: boolean;
  /** Command-line arguments for every data node, after its config file: `["--maxmemory", "64mb"]`. */
  extraArgs?: string[];
  /** Extra redis.conf lines per node (sentinels included); later lines win over the harness's. */
  configure?: (node: NodeContext) => string[] | undefined;
  /**
   * How long to wait for the whole topology to be ready.
   * @default 20000
   */
  startTimeoutMs?: number;
}

export const DEFAULT_START_TIMEOUT_MS = 20_000;

export function validateServerOptions(opts: ServerOptions): void {
  if (opts.user !== undefined && !opts.password) {
    throw new TypeError("Expected `password` together with `user`: an ACL user needs a password");
  }
}

/** What a client (and the harness's admin connections) must send to a data node. */
export function dataAuth(
  opts: ServerOptions,
  tls?: TlsMaterial,
): Omit<AdminTarget, "host" | "port"> {
  return { username: opts.user, password: opts.password, ...clientTls(tls) };
}

/** The `tls` connection option for the harness's own connections to a TLS node. */
export function clientTls(tls: TlsMaterial | undefined): Pick<AdminTarget, "tls"> {
  return tls ? { tls: { ca: tls.ca } } : {};
}

/** `redis` or `rediss`, `redis-sentinel` or `rediss-sentinel`, ... */
export function scheme(kind: "" | "-sentinel" | "-cluster", tls: boolean): string {
  return `${tls ? "rediss" : "redis"}${kind}`;
}

/** `user:pass@` for URLs; empty without a password. */
export function userInfo(auth: { username?: string | undefined; password?: string | undefined }) {
  if (!auth.password) return "";
  return `${auth.username ? encodeURIComponent(auth.username) : ""}:${encodeURIComponent(auth.password)}@`;
}

export function quote(value: string): string {
  return `"${value.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`;
}

/**
 * Settings every node shares. Nothing touches the disk but the log and the
 * files Redis insists on (nodes.conf, replication transfers): tests restart
 * nodes, they never expect data to survive a kill.
 *
 * With `tls` the node listens on `port` with TLS only.
 */
export function baseConfig(port: number, dir: string, tls?: TlsMaterial): string[] {
  return [
    ...listenConfig(port, tls),
    `bind ${LOCALHOST}`,
    `dir ${quote(dir)}`,
    `logfile ${quote(join(dir, "redis.log"))}`,
    "daemonize no",
    "protected-mode no",
    'save ""',
    "appendonly no",
    "repl-diskless-sync yes",
    // Replicas sync the moment they connect instead of waiting 5 s for company.
    "repl-diskless-sync-delay 0",
    // Lets later tests freeze a node from inside (DEBUG SLEEP) without a signal.
    "enable-debug-command local",
  ];
}

/** The listening port: plain, or TLS only (`port 0` turns the plain listener off). */
export function listenConfig(port: number, tls: TlsMaterial | undefined): string[] {
  if (!tls) return [`port ${port}`];
  return [
    "port 0",
    `tls-port ${port}`,
    `tls-cert-file ${quote(tls.certFile)}`,
    `tls-key-file ${quote(tls.keyFile)}`,
    `tls-ca-cert-file ${quote(tls.caFile)}`,
    // Clients prove who they are with passwords here; client certificates would be another test.
    "tls-auth-clients no",
    // Replication links, and a sentinel's links to nodes and to its peers, speak TLS too.
    "tls-replication yes",
  ];
}

/** Auth lines for a data node; replicas (and any node that may become one) need `masterauth`. */
export function dataAuthConfig(opts: ServerOptions): string[] {
  if (!opts.password) return [];
  const password = quote(opts.password);
  if (opts.user) {
    return [
      `user ${opts.user} on ${quote(`>${opts.password}`)} ~* &* +@all`,
      "user default off",
      `masteruser ${opts.user}`,
      `masterauth ${password}`,
    ];
  }
  return [`requirepass ${password}`, `masterauth ${password}`];
}

export interface LaunchSpec {
  label: string;
  dir: string;
  context: Omit<NodeContext, "port" | "dir">;
  /** The harness's lines for this node on `port`. */
  config: (port: number) => Promise<string[]> | string[];
  opts: ServerOptions;
  args?: string[];
  auth: Omit<AdminTarget, "host" | "port">;
  admin: AdminPool;
  timeoutMs: number;
  /** Told about the process before it starts, so a failed start elsewhere still stops it. */
  track: (node: RedisProcess) => void;
}

/**
 * Writes the node's config and starts it on a free port. Another process can
 * take a probed port before redis-server binds it; then the node gets a new one.
 */
export async function launchNode(spec: LaunchSpec): Promise<RedisProcess> {
  mkdirSync(spec.dir, { recursive: true });
  const confPath = join(spec.dir, "redis.conf");
  for (let attempt = 1; ; attempt++) {
    const port = await reservePort();
    const context: NodeContext = { ...spec.context, port, dir: spec.dir };
    const lines = [...(await spec.config(port)), ...(spec.opts.configure?.(context) ?? [])];
    writeFileSync(confPath, `${lines.join("\n")}\n`);
    const node = new RedisProcess(
      {
        label: spec.label,
        port,
        dir: spec.dir,
        confPath,
        args: spec.args ?? [],
        auth: spec.auth,
      },
      spec.admin,
    );
    spec.track(node);
    try {
      await node.start(spec.timeoutMs);
      return node;
    } catch (error) {
      const portTaken = /Address already in use/i.test(String((error as Error).message));
      if (!portTaken || attempt >= 5) throw error;
    }
  }
}

/** Certificates for a topology started with `tls: true`, made once in its dir; else undefined. */
export async function topologyTls(
  opts: ServerOptions,
  dir: string,
): Promise<TlsMaterial | undefined> {
  return opts.tls ? createTlsMaterial(join(dir, "tls")) : undefined;
}

/** A fresh directory for one topology inside this run's dir. */
export function topologyDir(kind: string): string {
  return mkdtempSync(join(runDir(), `${kind}-`));
}

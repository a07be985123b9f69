import { AdminPool, type AdminTarget, pairsToRecord } from "./admin.js";
import { ClusterGroup, parseClusterNodes } from "./cluster.js";
import { RemoteNode } from "./remote.js";
import { SentinelGroup } from "./sentinel.js";
import type {
  Addr,
  ClusterTopology,
  SentinelTopology,
  StandaloneTopology,
  TopologyKind,
} from "./types.js";

/** Environment variables that point the tests at servers someone else runs. */
export const TOPOLOGY_ENV = {
  standalone: "REDIS_HA_STANDALONE_URL",
  sentinel: "REDIS_HA_SENTINEL_URL",
  cluster: "REDIS_HA_CLUSTER_URL",
} as const satisfies Record<TopologyKind, string>;

/** The sentinels' own password, when it differs from the data nodes' (which go in the URL). */
export const SENTINEL_PASSWORD_ENV = "REDIS_HA_SENTINEL_PASSWORD";

export interface SeedUrl {
  seeds: Addr[];
  username: string | undefined;
  password: string | undefined;
  /** `#name` or `?name=` (sentinel URLs). */
  name: string | undefined;
}

const DEFAULT_PORT: Record<TopologyKind, number> = {
  standalone: 6379,
  sentinel: 26379,
  cluster: 6379,
};

/** `scheme://[user:pass@]h1[:p1][,h2[:p2]...][/db][?name=x][#name]`, the forms the store accepts. */
export function parseSeedUrl(url: string, kind: TopologyKind): SeedUrl {
  const match =
    /^([a-z-]+):\/\/(?:([^@/]*)@)?([^/?#]+)(?:\/[^?#]*)?(?:\?([^#]*))?(?:#(.*))?$/i.exec(url);
  if (!match) throw new Error(`Cannot parse ${TOPOLOGY_ENV[kind]}=${url}`);
  const [, , credentials, hosts = "", query, fragment] = match;
  let username: string | undefined;
  let password: string | undefined;
  if (credentials !== undefined) {
    const colon = credentials.indexOf(":");
    const user = colon === -1 ? "" : credentials.slice(0, colon);
    const pass = colon === -1 ? credentials : credentials.slice(colon + 1);
    username = user ? decodeURIComponent(user) : undefined;
    password = pass ? decodeURIComponent(pass) : undefined;
  }
  const seeds = hosts.split(",").map((hostPort) => {
    const colon = hostPort.lastIndexOf(":");
    const hasPort = colon > -1 && !hostPort.endsWith("]");
    return {
      host: (hasPort ? hostPort.slice(0, colon) : hostPort).replace(/^\[|\]$/g, ""),
      port: hasPort ? Number(hostPort.slice(colon + 1)) : DEFAULT_PORT[kind],
    };
  });
  const name = fragment
    ? decodeURIComponent(fragment)
    : (new URLSearchParams(query ?? "").get("name") ?? undefined);
  return { seeds, username, password, name };
}

function reason(kind: TopologyKind): string {
  const variable = TOPOLOGY_ENV[kind];
  return `the ${kind} topology comes from ${variable}, so its processes are not the harness's to control. Unset ${variable} to run this test on servers the harness starts.`;
}

async function firstAnswer<T>(
  what: string,
  targets: AdminTarget[],
  ask: (t: AdminTarget) => Promise<T>,
): Promise<T> {
  const errors: string[] = [];
  for (const target of targets) {
    try {
      return await ask(target);
    } catch (error) {
      errors.push(`${target.host}:${target.port}: ${(error as Error).message}`);
    }
  }
  throw new Error(`${what} failed on every address: ${errors.join("; ")}`);
}

export async function envStandalone(url: string): Promise<StandaloneTopology> {
  const { seeds, username, password } = parseSeedUrl(url, "standalone");
  const seed = seeds[0]!;
  const node = new RemoteNode(seed.host, seed.port, { username, password }, reason("standalone"));
  const admin = new AdminPool(5000);
  try {
    await admin.call(node.target, "PING");
  } catch (error) {
    admin.close();
    throw new Error(
      `${TOPOLOGY_ENV.standalone}=${url} does not answer PING: ${(error as Error).message}`,
    );
  }
  return {
    kind: "standalone",
    provider: "env",
    controllable: false,
    url,
    node,
    stop: async () => admin.close(),
  };
}

export async function envSentinel(url: string): Promise<SentinelTopology> {
  const { seeds, username, password, name } = parseSeedUrl(url, "sentinel");
  if (!name) throw new Error(`${TOPOLOGY_ENV.sentinel}=${url} names no master: add #masterName`);
  const sentinelAuth = { password: process.env[SENTINEL_PASSWORD_ENV] };
  const dataAuth = { username, password };
  const why = reason("sentinel");
  const sentinels = seeds.map((s) => new RemoteNode(s.host, s.port, sentinelAuth, why));
  const admin = new AdminPool(5000);
  const adopt = (addr: Addr) => new RemoteNode(addr.host, addr.port, dataAuth, why);
  try {
    const dataNodes = await firstAnswer(
      `SENTINEL replicas ${name}`,
      sentinels.map((s) => s.target),
      async (target) => {
        const master = await admin.call(target, "SENTINEL", "get-master-addr-by-name", name);
        if (!Array.isArray(master)) throw new Error(`the sentinel does not monitor ${name}`);
        const replicas = await admin.call(target, "SENTINEL", "replicas", name);
        return [
          { host: String(master[0]), port: Number(master[1]) },
          ...(Array.isArray(replicas) ? replicas : [])
            .map(pairsToRecord)
            .map((r) => ({ host: r.ip ?? "", port: Number(r.port) })),
        ].map(adopt);
      },
    );
    return new SentinelGroup({
      provider: "env",
      controllable: false,
      masterName: name,
      sentinels,
      dataNodes,
      admin,
      url,
      stop: async () => admin.close(),
      adopt,
    });
  } catch (error) {
    admin.close();
    throw error;
  }
}

export async function envCluster(url: string): Promise<ClusterTopology> {
  const { seeds, username, password } = parseSeedUrl(url, "cluster");
  const auth = { username, password };
  const why = reason("cluster");
  const admin = new AdminPool(5000);
  try {
    // The cluster's own addresses, not the seeds: those are what clients are redirected to.
    const views = await firstAnswer(
      "CLUSTER NODES",
      seeds.map((s) => ({ ...s, ...auth })),
      async (target) =>
        parseClusterNodes(String(await admin.call(target, "CLUSTER", "NODES"))).filter(
          (v) => !v.flags.has("noaddr"),
        ),
    );
    const adopt = (addr: Addr) => new RemoteNode(addr.host, addr.port, auth, why);
    return new ClusterGroup({
      provider: "env",
      controllable: false,
      nodes: views.map(adopt),
      admin,
      url,
      stop: async () => admin.close(),
      adopt,
    });
  } catch (error) {
    admin.close();
    throw error;
  }
}

import type { RedisOptions } from "ioredis";
import { ConfigurationError } from "../errors.js";
import {
  defaults,
  type NodeAddress,
  type RedisStoreOptions,
  type TopologyName,
} from "../options.js";
import { type HostPort, parseUrl, redact } from "./url.js";

/**
 * Where to connect, resolved from the options but not yet connected.
 * "detect" means: one node, kind unknown until it answers INFO.
 */
export type ConnectionPlan =
  | { kind: "standalone" | "detect"; node: RedisOptions; masterName?: string }
  | {
      kind: "sentinel";
      sentinels: HostPort[];
      name: string | undefined;
      node: RedisOptions;
      sentinel: RedisOptions;
    }
  | { kind: "cluster"; nodes: HostPort[]; node: RedisOptions };

type Tls = RedisOptions["tls"] | true | undefined;

function tlsOption(tls: Tls): RedisOptions["tls"] | undefined {
  return tls === true ? {} : tls;
}

function toHostPort(address: NodeAddress, defaultPort: number, option: string): HostPort {
  if (typeof address === "string") {
    const parsed = parseUrl(`redis://${address}`).hosts[0]!;
    return { host: parsed.host, port: address.includes(":") ? parsed.port : defaultPort };
  }
  if (!address || typeof address.host !== "string") {
    throw new ConfigurationError(
      `Expected every entry of \`${option}\` to be "host:port" or { host, port }`,
    );
  }
  return { host: address.host, port: address.port ?? defaultPort };
}

function credentials(o: { username?: string; password?: string }): RedisOptions {
  const out: RedisOptions = {};
  if (o.username !== undefined) out.username = o.username;
  if (o.password !== undefined) out.password = o.password;
  return out;
}

function withTls(node: RedisOptions, tls: Tls): RedisOptions {
  const t = tlsOption(tls);
  if (t !== undefined) node.tls = t;
  return node;
}

/** Applies `topology` to a plan whose kind came from a URL or the shorthand. */
function applyTopology(
  plan: ConnectionPlan,
  topology: "auto" | TopologyName,
  source: string,
): ConnectionPlan {
  if (topology === "auto" || plan.kind === topology) return plan;
  if (plan.kind === "detect" || plan.kind === "standalone") {
    const host = { host: plan.node.host ?? "127.0.0.1", port: plan.node.port ?? 6379 };
    if (topology === "standalone") return { ...plan, kind: "standalone" };
    if (topology === "cluster") return { kind: "cluster", nodes: [host], node: plan.node };
    const { host: _h, port: _p, ...node } = plan.node;
    return {
      kind: "sentinel",
      sentinels: [host],
      name: plan.masterName,
      node,
      sentinel: credentials({}),
    };
  }
  throw new ConfigurationError(
    `\`topology: "${topology}"\` contradicts ${source}, which names a ${plan.kind}; drop one of them`,
  );
}

function fromUrl(url: string, option: string, redisOptions?: RedisOptions): ConnectionPlan {
  const parsed = parseUrl(url, option);
  const node = withTls(credentials(parsed), parsed.tls || undefined);
  if (parsed.db !== undefined) node.db = parsed.db;
  if (parsed.kind === "cluster") {
    return { kind: "cluster", nodes: parsed.hosts, node };
  }
  if (parsed.kind === "sentinel") {
    if (!parsed.masterName) {
      throw new ConfigurationError(
        `\`${option}\` "${redact(url)}" names sentinels but no master group: ` +
          "add it as the fragment (redis-sentinel://host:26379#mymaster) or as ?name=mymaster",
      );
    }
    // The sentinels speak TLS with the data nodes' settings (`redisOptions.tls`,
    // its CA above all) unless `redisOptions.sentinelTLS` says otherwise.
    const sentinel = withTls(credentials({}), parsed.tls ? (redisOptions?.tls ?? true) : undefined);
    return {
      kind: "sentinel",
      sentinels: parsed.hosts,
      name: parsed.masterName,
      node,
      sentinel,
    };
  }
  const host = parsed.hosts[0]!;
  node.host = host.host;
  node.port = host.port;
  const plan: ConnectionPlan = { kind: "detect", node };
  if (parsed.masterName) plan.masterName = parsed.masterName;
  return plan;
}

/** Resolves where to connect, in the spec's order of sources. Never connects. */
export function planConnection(
  opts: RedisStoreOptions,
  env: NodeJS.ProcessEnv = process.env,
): ConnectionPlan {
  const topology = opts.topology ?? defaults.topology;
  if (opts.url !== undefined) {
    return applyTopology(fromUrl(opts.url, "url", opts.redisOptions), topology, "`url`");
  }
  if (opts.cluster) {
    const c = opts.cluster;
    const plan: ConnectionPlan = {
      kind: "cluster",
      nodes: c.nodes.map((n) => toHostPort(n, 6379, "cluster.nodes")),
      node: withTls(credentials(c), c.tls),
    };
    return applyTopology(plan, topology, "the `cluster` option");
  }
  if (opts.sentinel) {
    const s = opts.sentinel;
    const node = withTls(credentials(s), s.tls);
    if (s.db !== undefined) node.db = s.db;
    const sentinel = withTls(
      credentials({ username: s.sentinelUsername, password: s.sentinelPassword } as {
        username?: string;
        password?: string;
      }),
      // Unset, it follows the data nodes' TLS, which `redisOptions.tls` refines.
      s.sentinelTLS ?? (s.tls === undefined ? undefined : (opts.redisOptions?.tls ?? s.tls)),
    );
    const plan: ConnectionPlan = {
      kind: "sentinel",
      sentinels: s.sentinels.map((n) => toHostPort(n, 26379, "sentinel.sentinels")),
      name: s.name,
      node,
      sentinel,
    };
    return applyTopology(plan, topology, "the `sentinel` option");
  }
  const hasShorthand =
    opts.host !== undefined ||
    opts.port !== undefined ||
    opts.socket !== undefined ||
    opts.standalone !== undefined;
  if (hasShorthand) {
    const s = opts.standalone ?? {};
    const node = withTls(
      credentials({
        username: s.username ?? opts.username,
        password: s.password ?? opts.password ?? opts.pass,
      } as { username?: string; password?: string }),
      s.tls ?? opts.tls,
    );
    const socket = s.socket ?? opts.socket;
    if (socket !== undefined) node.path = socket;
    else {
      node.host = s.host ?? opts.host ?? "127.0.0.1";
      node.port = s.port ?? opts.port ?? 6379;
    }
    const db = s.db ?? opts.db;
    if (db !== undefined) node.db = db;
    // A unix socket is always one node; nothing to detect.
    const kind = socket !== undefined || opts.standalone !== undefined ? "standalone" : "detect";
    return applyTopology({ kind, node }, topology, "the `host`/`port` options");
  }
  const fromEnv = env.REDIS_URL;
  const url = fromEnv && fromEnv.trim() !== "" ? fromEnv : defaults.defaultUrl;
  const plan = fromUrl(url, fromEnv ? "REDIS_URL" : "url", opts.redisOptions);
  // Credentials and TLS given at the top level still apply to an address from the environment.
  const extra = withTls(
    credentials({ username: opts.username, password: opts.password ?? opts.pass } as {
      username?: string;
      password?: string;
    }),
    opts.tls,
  );
  Object.assign(plan.node, extra);
  if (opts.db !== undefined && plan.kind !== "cluster") plan.node.db = opts.db;
  return applyTopology(plan, topology, fromEnv ? "REDIS_URL" : "the default address");
}

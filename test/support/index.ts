import { type ClusterOptions, startNativeCluster } from "./cluster.js";
import { containerRuntimeAvailable, startContainerStandalone } from "./containers.js";
import { envCluster, envSentinel, envStandalone, TOPOLOGY_ENV } from "./env-provider.js";
import { findOnPath } from "./process.js";
import { type SentinelOptions, startNativeSentinel } from "./sentinel.js";
import { type StandaloneOptions, startNativeStandalone } from "./standalone.js";
import type {
  ClusterTopology,
  ProviderName,
  SentinelTopology,
  StandaloneTopology,
  TopologyFor,
  TopologyKind,
} from "./types.js";

export type { ClusterOptions } from "./cluster.js";
export type { NodeContext, ServerOptions } from "./config.js";
export { IMAGE_ENV } from "./containers.js";
export { SENTINEL_PASSWORD_ENV, TOPOLOGY_ENV } from "./env-provider.js";
export type { SentinelOptions } from "./sentinel.js";
export type { StandaloneOptions } from "./standalone.js";
export type { TlsMaterial } from "./tls.js";
export type {
  Addr,
  ClusterTopology,
  MigrateSlotOptions,
  NodeHandle,
  ProviderName,
  SentinelTopology,
  StandaloneTopology,
  Topology,
  TopologyFor,
  TopologyKind,
} from "./types.js";
export { type WaitOptions, waitFor } from "./wait.js";

/** Forces a provider instead of the env → native → containers order. */
export const PROVIDER_ENV = "REDIS_HA_PROVIDER";

export type OptionsFor<K extends TopologyKind> = K extends "standalone"
  ? StandaloneOptions
  : K extends "sentinel"
    ? SentinelOptions
    : ClusterOptions;

// Options that shape the servers themselves; servers from the environment
// cannot honour them, so asking for any of them means the harness starts its own.
const SERVER_SHAPING = [
  "password",
  "user",
  "extraArgs",
  "configure",
  "sentinelPassword",
  "masterName",
  "downAfterMs",
  "failoverTimeoutMs",
  "nodeTimeoutMs",
  "tls",
] as const;

function shapesServers(opts: object): boolean {
  return SERVER_SHAPING.some((key) => (opts as Record<string, unknown>)[key] !== undefined);
}

function installHint(kind: TopologyKind): string {
  return (
    `No Redis available for the ${kind} tests. Install Redis (Debian/Ubuntu: \`apt-get install -y redis-server redis-tools\`; ` +
    "macOS: `brew install redis`) so that redis-server and redis-cli are on PATH, " +
    `or set ${TOPOLOGY_ENV[kind]} to the address of a running ${kind} topology.`
  );
}

/**
 * Which provider starts a `kind` topology here: the address in the
 * environment, else redis-server on PATH, else a container engine.
 */
export async function resolveProvider(
  kind: TopologyKind,
  opts: object = {},
): Promise<ProviderName> {
  const forced = process.env[PROVIDER_ENV];
  if (forced) {
    if (forced !== "env" && forced !== "native" && forced !== "containers") {
      throw new Error(
        `Expected ${PROVIDER_ENV} to be env, native or containers, got \`${forced}\``,
      );
    }
    return forced;
  }
  if (process.env[TOPOLOGY_ENV[kind]] && !shapesServers(opts)) return "env";
  if (findOnPath("redis-server") && (kind !== "cluster" || findOnPath("redis-cli"))) {
    return "native";
  }
  if (await containerRuntimeAvailable()) {
    if (kind === "standalone") return "containers";
    throw new Error(
      `${installHint(kind)} (A container engine is reachable, but the containers provider only starts a standalone node.)`,
    );
  }
  throw new Error(installHint(kind));
}

function fromEnv(kind: TopologyKind): string {
  const url = process.env[TOPOLOGY_ENV[kind]];
  if (!url) throw new Error(`${PROVIDER_ENV}=env needs ${TOPOLOGY_ENV[kind]}`);
  return url;
}

export async function startStandalone(opts: StandaloneOptions = {}): Promise<StandaloneTopology> {
  switch (await resolveProvider("standalone", opts)) {
    case "env":
      return envStandalone(fromEnv("standalone"));
    case "containers":
      return startContainerStandalone(opts);
    case "native":
      return startNativeStandalone(opts);
  }
}

export async function startSentinel(opts: SentinelOptions = {}): Promise<SentinelTopology> {
  switch (await resolveProvider("sentinel", opts)) {
    case "env":
      return envSentinel(fromEnv("sentinel"));
    case "containers":
      throw new Error(
        `The containers provider cannot start a Sentinel group. ${installHint("sentinel")}`,
      );
    case "native":
      return startNativeSentinel(opts);
  }
}

export async function startCluster(opts: ClusterOptions = {}): Promise<ClusterTopology> {
  switch (await resolveProvider("cluster", opts)) {
    case "env":
      return envCluster(fromEnv("cluster"));
    case "containers":
      throw new Error(`The containers provider cannot start a cluster. ${installHint("cluster")}`);
    case "native":
      return startNativeCluster(opts);
  }
}

export async function startTopology<K extends TopologyKind>(
  kind: K,
  opts?: OptionsFor<K>,
): Promise<TopologyFor<K>> {
  switch (kind) {
    case "standalone":
      return (await startStandalone(opts as StandaloneOptions)) as TopologyFor<K>;
    case "sentinel":
      return (await startSentinel(opts as SentinelOptions)) as TopologyFor<K>;
    case "cluster":
      return (await startCluster(opts as ClusterOptions)) as TopologyFor<K>;
    default:
      throw new TypeError(
        `Expected a topology kind of standalone, sentinel or cluster, got \`${String(kind)}\``,
      );
  }
}

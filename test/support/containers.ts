import { dataAuth, userInfo, validateServerOptions } from "./config.js";
import { RemoteNode } from "./remote.js";
import type { StandaloneOptions } from "./standalone.js";
import type { StandaloneTopology } from "./types.js";

/** Image for the containers provider. */
export const IMAGE_ENV = "REDIS_HA_IMAGE";
const DEFAULT_IMAGE = "redis:7.0";

/**
 * Is a Docker (or Podman, ...) engine reachable? testcontainers is imported
 * only here, so runs that never need it never pay for loading it.
 */
export async function containerRuntimeAvailable(): Promise<boolean> {
  try {
    const { getContainerRuntimeClient } = await import("testcontainers");
    await getContainerRuntimeClient();
    return true;
  } catch {
    return false;
  }
}

/**
 * A standalone Redis in a container: the fallback for machines without
 * redis-server. Sentinel and Cluster need the announce/NAT set-up that the
 * compose files carry, so this provider stops at one node, and its process
 * controls throw.
 */
export async function startContainerStandalone(
  opts: StandaloneOptions = {},
): Promise<StandaloneTopology> {
  validateServerOptions(opts);
  if (opts.tls) {
    throw new TypeError(
      "The containers provider does not support `tls`; install redis-server to run TLS tests",
    );
  }
  if (opts.configure) {
    throw new TypeError("The containers provider does not support `configure`; use `extraArgs`");
  }
  const { GenericContainer, Wait } = await import("testcontainers");
  const auth = dataAuth(opts);
  const authArgs = !opts.password
    ? []
    : opts.user
      ? [
          "--user",
          opts.user,
          "on",
          `>${opts.password}`,
          "~*",
          "&*",
          "+@all",
          "--user",
          "default",
          "off",
        ]
      : ["--requirepass", opts.password];
  const container = await new GenericContainer(process.env[IMAGE_ENV] ?? DEFAULT_IMAGE)
    .withCommand([
      "redis-server",
      "--save",
      "",
      "--appendonly",
      "no",
      ...authArgs,
      ...(opts.extraArgs ?? []),
    ])
    .withExposedPorts(6379)
    .withWaitStrategy(Wait.forLogMessage("Ready to accept connections"))
    .start();
  const host = container.getHost();
  const port = container.getMappedPort(6379);
  const node = new RemoteNode(
    host,
    port,
    auth,
    "the containers provider does not control processes; install redis-server to get a node that can be killed, paused and restarted.",
  );
  let stopped: Promise<void> | undefined;
  return {
    kind: "standalone",
    provider: "containers",
    controllable: false,
    url: `redis://${userInfo(auth)}${host}:${port}`,
    node,
    stop: () => {
      stopped ??= container.stop().then(() => undefined);
      return stopped;
    },
  };
}

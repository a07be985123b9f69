import { join } from "node:path";
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
import { teardown } from "./teardown.js";
import type { StandaloneTopology } from "./types.js";

export type StandaloneOptions = ServerOptions;

/** One redis-server on a free port of 127.0.0.1. */
export async function startNativeStandalone(
  opts: StandaloneOptions = {},
): Promise<StandaloneTopology> {
  validateServerOptions(opts);
  const dir = topologyDir("standalone");
  const admin = new AdminPool();
  const stop = teardown(dir, admin);
  try {
    const tls = await topologyTls(opts, dir);
    const auth = dataAuth(opts, tls);
    const node = await launchNode({
      label: "standalone node",
      dir: join(dir, "node"),
      context: { role: "standalone", index: 0 },
      config: (port) => [...baseConfig(port, join(dir, "node"), tls), ...dataAuthConfig(opts)],
      opts,
      args: opts.extraArgs,
      auth,
      admin,
      timeoutMs: opts.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS,
      track: stop.track,
    });
    return {
      kind: "standalone",
      provider: "native",
      controllable: true,
      url: `${scheme("", tls !== undefined)}://${userInfo(auth)}${node.host}:${node.port}`,
      node,
      tls,
      stop: stop.run,
    };
  } catch (error) {
    await stop.run();
    throw error;
  }
}

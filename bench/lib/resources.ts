import {
  type ClusterTopology,
  type StandaloneTopology,
  startCluster,
  startStandalone,
} from "../../test/support/index.js";

/**
 * Everything a scenario starts (Redis topologies, app processes, clients)
 * is registered here and stopped on the way out: normal end, error, or
 * Ctrl-C. The harness kills its servers on a signal too; this also closes
 * clients and child processes and exits with the signal's status.
 */

interface Stoppable {
  stop(): Promise<void> | void;
}

const open = new Set<Stoppable>();
let signalsWired = false;

function wireSignals(): void {
  if (signalsWired) return;
  signalsWired = true;
  let stopping = false;
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    // `on`, not `once`: while a listener remains, the harness's own handler
    // (which kills its servers at once) leaves the exit to us.
    process.on(signal, () => {
      if (stopping) return;
      stopping = true;
      console.error(`\n${signal}: stopping what the benchmark started`);
      void stopAll().finally(() => process.exit(signal === "SIGINT" ? 130 : 143));
    });
  }
}

export function track<T extends Stoppable>(resource: T): T {
  wireSignals();
  open.add(resource);
  return resource;
}

export async function release(resource: Stoppable): Promise<void> {
  open.delete(resource);
  await resource.stop();
}

export async function stopAll(): Promise<void> {
  const all = [...open].reverse();
  open.clear();
  await Promise.allSettled(all.map(async (r) => r.stop()));
}

export async function standalone(): Promise<StandaloneTopology> {
  wireSignals();
  return track(await startStandalone());
}

export async function cluster(): Promise<ClusterTopology> {
  wireSignals();
  const topology = track(await startCluster());
  await topology.waitForClusterOk();
  return topology;
}

/** Runs a scenario's body, reports a failure as exit code 1, and always cleans up. */
export async function runMain(body: () => Promise<void>): Promise<void> {
  wireSignals();
  try {
    await body();
  } catch (err) {
    console.error(err);
    process.exitCode = 1;
  } finally {
    await stopAll();
  }
}

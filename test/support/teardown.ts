import { rm } from "node:fs/promises";
import type { AdminPool } from "./admin.js";
import type { RedisProcess } from "./process.js";

export interface Teardown {
  /** Nodes started so far; a start that fails half-way still stops them. */
  track(...nodes: RedisProcess[]): void;
  /** Kills every tracked node, waits for the exits, closes admin sockets, removes the dir. Idempotent. */
  run(): Promise<void>;
}

export function teardown(dir: string, admin: AdminPool): Teardown {
  const nodes: RedisProcess[] = [];
  let done: Promise<void> | undefined;
  return {
    track: (...more) => {
      nodes.push(...more);
    },
    run: () => {
      done ??= (async () => {
        admin.close();
        await Promise.all(nodes.map((node) => node.kill("SIGKILL")));
        await rm(dir, { recursive: true, force: true });
      })();
      return done;
    },
  };
}

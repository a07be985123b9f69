import { releaseStaleClaims } from "./ports.js";
import { createRunDir, orphanedRunDirs, RUN_DIR_ENV, reapRunDir } from "./process.js";

/**
 * The last line of defence against stray servers. Workers record every
 * redis-server they start under one run dir; when the run ends, whatever is
 * still alive there is killed, even if a worker crashed or a test forgot to
 * stop its topology. Run dirs left by runs that died outright (SIGKILL, power
 * loss) are swept at the start of the next run.
 */
export default async function setup(): Promise<() => Promise<void>> {
  for (const dir of orphanedRunDirs()) {
    const killed = await reapRunDir(dir);
    if (killed.length > 0) {
      console.warn(
        `[redis-ha harness] killed ${killed.length} server(s) left by a dead run in ${dir}`,
      );
    }
  }
  // Port claims of earlier runs' workers (ports.ts); none of this run's exist yet.
  releaseStaleClaims();
  // Workers are forked after this and inherit the variable.
  const dir = createRunDir(process.pid);
  process.env[RUN_DIR_ENV] = dir;
  return async () => {
    const killed = await reapRunDir(dir);
    releaseStaleClaims(); // every worker has exited
    if (killed.length > 0) {
      console.warn(
        `[redis-ha harness] killed ${killed.length} server(s) a test did not stop (pids ${killed.join(", ")})`,
      );
    }
  };
}

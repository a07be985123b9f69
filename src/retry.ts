/**
 * Bounded retries for commands that met a failover: a redirect, a replica
 * that was just demoted, a cluster still electing, or a connection that
 * dropped under the command, or a WAIT cut short because its master was
 * demoted (UNBLOCKED: the write may be gone with it). Every command the store retries is idempotent
 * (SET of the same value, UNLINK, EXPIRE, GET), so sending it again is safe.
 */

const RETRYABLE =
  /^(MOVED|ASK|TRYAGAIN|CLUSTERDOWN|READONLY|LOADING|MASTERDOWN|UNBLOCKED)\b|Connection is closed|aborted due to connection close|ECONNRESET|ECONNREFUSED|EPIPE|Stream isn't writeable|All keys in the pipeline|Failed to refresh slots cache/i;

export function isRetryable(err: unknown): boolean {
  return err instanceof Error && RETRYABLE.test(err.message);
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Backoff between attempts: short at first, since most failovers here take 1-3 s. */
export function backoff(attempt: number): number {
  return Math.min(25 * 2 ** attempt, 400);
}

/**
 * Runs `fn` until it succeeds, fails with an error that is not retryable,
 * or `windowMs` has passed since the first attempt.
 */
export async function retrying<T>(
  fn: () => Promise<T>,
  windowMs: number,
  stop: () => boolean = () => false,
  onRetry?: (err: unknown) => void,
): Promise<T> {
  const started = Date.now();
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (!isRetryable(err) || stop() || Date.now() - started >= windowMs) throw err;
      onRetry?.(err);
      await sleep(backoff(attempt));
    }
  }
}

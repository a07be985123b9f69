import {
  AuthenticationError,
  ErrorCodes,
  isAuthError,
  RedisStoreError,
  toStoreError,
} from "../errors.js";
import { type AnyClient, isClusterClient } from "./manager.js";

/**
 * Connection failures that retrying cannot fix, told apart from ordinary
 * reconnects, and how the commands waiting on them are failed at once.
 */

/** What a client's failed connection attempts have shown so far. */
export interface SetupState {
  everReady: boolean;
  /** Connections dropped by the server before it answered anything, since the last ready. */
  drops: number;
}

// Node's codes for a TLS handshake the client refused (untrusted or mismatched
// certificate) or could not run (TLS spoken to a port that does not).
const TLS_FAILURE = /^ERR_SSL_|^ERR_TLS_|^UNABLE_TO_|CERT|SELF_SIGNED/;
// A TLS-only port resets a plain connection at the client's first write.
// One reset can be a node dying; three in a row before any success is a
// server that will never answer this client.
const DROPS_BEFORE_FAILING = 3;
// SentinelConnector folds the last sentinel's reply into its own message.
const SENTINELS_FAILED = /^All sentinels are unreachable\b.*Last error: (.+)$/s;

function describeTarget(client: AnyClient): string {
  if (isClusterClient(client)) return "a cluster node";
  const o = client.options;
  return o.sentinels?.length ? `the master of "${o.name}"` : `${o.host}:${o.port}`;
}

/**
 * Connection failures that ioredis reports as events but never hands to the
 * commands waiting for a connection, and that retrying cannot fix:
 * credentials refused by the sentinels or by every cluster node, a TLS
 * handshake that failed, a server that drops every connection before it
 * answers (a TLS-only port spoken to in plain text). ioredis keeps retrying;
 * without this the commands would wait out their whole retry budget, or
 * forever behind sentinels. Credentials a data node refuses need nothing here:
 * ioredis already fails the waiting commands with that reply.
 */
export function setupFailure(
  err: Error,
  client: AnyClient,
  setup: SetupState,
): RedisStoreError | undefined {
  if (err instanceof RedisStoreError) return undefined;
  const sentinelReply = SENTINELS_FAILED.exec(err.message)?.[1];
  if (sentinelReply !== undefined && isAuthError(new Error(sentinelReply))) {
    return new AuthenticationError(
      `The sentinels rejected the store's credentials: ${sentinelReply} ` +
        "Check `sentinel.sentinelPassword` (and `sentinelUsername`), or `redisOptions.sentinelPassword`; " +
        "the user:pass of a redis-sentinel:// URL are the data nodes'.",
      { cause: err },
    );
  }
  // Cluster: "Failed to refresh slots cache", with what the last node said.
  const nodeError = (err as { lastNodeError?: unknown }).lastNodeError;
  if (isAuthError(nodeError)) return toStoreError(nodeError, "connecting to the cluster");
  const code = String((err as NodeJS.ErrnoException).code ?? "");
  if (TLS_FAILURE.test(code)) {
    return new RedisStoreError(
      ErrorCodes.CONNECTION,
      `The TLS handshake with ${describeTarget(client)} failed: ${err.message} (${code}). ` +
        "Pass the CA that signed the server's certificate as `redisOptions.tls: { ca }` " +
        "(and `sentinelTLS` for sentinels), or use redis:// if the server does not speak TLS.",
      { cause: err },
    );
  }
  const dropped = code === "ECONNRESET" || code === "EPIPE";
  if (dropped && !setup.everReady && client.status === "connect") {
    setup.drops++;
    if (setup.drops >= DROPS_BEFORE_FAILING) {
      return new RedisStoreError(
        ErrorCodes.CONNECTION,
        `${describeTarget(client)} accepted ${setup.drops} connections and dropped each before ` +
          "answering, as a server that only speaks TLS does with a plain one. If it serves TLS, " +
          "use rediss:// (or the `tls` option); otherwise check that the address is a Redis server.",
        { cause: err },
      );
    }
  }
  return undefined;
}

/** Fails the commands waiting for a connection; the client keeps reconnecting for later ones. */
export function failWaiting(client: AnyClient, error: RedisStoreError | undefined): void {
  if (!error) return;
  // Private in ioredis' types; present on Redis and Cluster alike, and in iovalkey.
  const queues = client as unknown as {
    flushQueue?: (e: Error, o?: object) => void;
    invokeReadyDelayedCallbacks?: (e: Error) => void;
  };
  queues.flushQueue?.call(client, error, { offlineQueue: true, commandQueue: false });
  // A cluster's auto-pipelined commands wait for the first slot map in a list of their own.
  if (isClusterClient(client)) queues.invokeReadyDelayedCallbacks?.call(client, error);
}

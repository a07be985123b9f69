import type { ChainableCommander } from "ioredis";
import { toStoreError } from "./errors.js";
import { isRetryable } from "./retry.js";
import type { AnyClient } from "./topology/manager.js";

/**
 * Writers: how a planned write reaches Redis. The store picks one at
 * construction (plain or durable, wrapped by the Sentinel write hold) and
 * every set, destroy and destroyFor goes through it; nothing else sends a
 * session write.
 */

/** One command, as data, so the same write can go alone or into a pipeline. */
export type Command =
  | readonly ["set", string, string | Buffer]
  | readonly ["set", string, string | Buffer, "XX"]
  | readonly ["set", string, string | Buffer, "PX", number]
  | readonly ["set", string, string | Buffer, "PX", number, "XX"]
  | readonly ["unlink", string]
  /** Reads the value it deletes: the per-user index needs to know whose session it was. */
  | readonly ["getdelBuffer", string];

export interface Write {
  /** The store operation, for error messages. */
  readonly op: string;
  readonly sid: string;
  readonly key: string;
  readonly command: Command;
}

export interface Writer {
  /**
   * Sends the write now, in call order with every other write of this
   * writer; resolves with the command's reply once it is applied (and, for a
   * durable writer, replicated). Rejects with a RedisStoreError.
   */
  send(client: AnyClient, write: Write): Promise<unknown>;
}

type Send = (client: AnyClient | ChainableCommander, command: Command) => Promise<unknown>;

/** Sends a command on a client or queues it on a pipeline. */
export const sendCommand: Send = (target, command) => {
  const t = target as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>;
  switch (command[0]) {
    case "set":
      // ioredis sends every argument it is given, undefined ones too: pass only those there are.
      switch (command.length) {
        case 3:
          return t.set!(command[1], command[2]);
        case 4:
          return t.set!(command[1], command[2], command[3]);
        case 5:
          return t.set!(command[1], command[2], command[3], command[4]);
        default:
          return t.set!(command[1], command[2], command[3], command[4], command[5]);
      }
    case "unlink":
      return t.unlink!(command[1]);
    default:
      return t.getdelBuffer!(command[1]);
  }
};

/** Runs a command through failovers: `retry` resends it within the store's retry window. */
export type Retry = <T>(fn: () => Promise<T>) => Promise<T>;

/**
 * Sends each write on its own. A write that met a failover (see retry.ts) is
 * resent, through `retry`; every command written is idempotent. While a
 * write is being resent, later writes of the same key wait for it to settle:
 * a `destroy` issued during the retry of a `set` must not land first and
 * then be undone by the resent `set`.
 */
export class PlainWriter implements Writer {
  /** Keys with a write being resent, and when that (and what queued behind it) settles. */
  private readonly resending = new Map<string, Promise<void>>();

  constructor(
    private readonly retry: Retry,
    private readonly counters: { commands: number },
  ) {}

  send(client: AnyClient, write: Write): Promise<unknown> {
    const before = this.resending.get(write.key);
    if (before === undefined) return this.sendNow(client, write);
    const after = before.then(() => this.sendNow(client, write));
    this.behind(write.key, after);
    return after;
  }

  private sendNow(client: AnyClient, write: Write): Promise<unknown> {
    this.counters.commands++;
    return sendCommand(client, write.command).catch((err: unknown) => {
      if (!isRetryable(err)) throw toStoreError(err, write.op, write);
      const resend = () =>
        this.retry(() => {
          this.counters.commands++;
          return sendCommand(client, write.command);
        });
      // Two writes of one key that failed together are resent one after the other.
      const before = this.resending.get(write.key);
      const resent = (before ? before.then(resend) : resend()).catch((last: unknown) => {
        throw toStoreError(last, write.op, write);
      });
      this.behind(write.key, resent);
      return resent;
    });
  }

  /** Makes later writes of `key` wait for `p`; the mark goes once nothing newer waits. */
  private behind(key: string, p: Promise<unknown>): void {
    const settled = p.then(
      () => undefined,
      () => undefined,
    );
    this.resending.set(key, settled);
    void settled.then(() => {
      if (this.resending.get(key) === settled) this.resending.delete(key);
    });
  }
}

/**
 * Holds writes while `gate()` returns a promise (a Sentinel failover in
 * progress, see topology/sentinel-watch.ts), then sends them in the order
 * they came: each waits on the same promise, and reactions run in order.
 */
export class HeldWriter implements Writer {
  constructor(
    private readonly inner: Writer,
    private readonly gate: () => Promise<void> | undefined,
  ) {}

  send(client: AnyClient, write: Write): Promise<unknown> {
    const held = this.gate();
    if (held === undefined) return this.inner.send(client, write);
    return held.then(() => this.inner.send(client, write));
  }
}

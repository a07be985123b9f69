import { ReplyError } from "ioredis";
import { describe, expect, it } from "vitest";
import {
  AuthenticationError,
  ErrorCodes,
  RedisStoreError,
  toStoreError,
} from "../../src/errors.js";
import { findSecrets, secretPieces } from "../fixtures/secrets.js";

type Reply = InstanceType<typeof ReplyError>;

const PASSWORD = "Zx9q/Rt7w#Lp3m?Vb2n@Kd4s:Hj6t";
const SECRETS = secretPieces(PASSWORD);

/** A refused HELLO as ioredis reports it: the command, credentials included, rides on the error. */
function refusedHello(): Reply & { command: { name: string; args: unknown[] } } {
  const err = new ReplyError(
    "WRONGPASS invalid username-password pair or user is disabled.",
  ) as Reply & { command: { name: string; args: unknown[] } };
  err.command = { name: "hello", args: ["3", "AUTH", "app", PASSWORD] };
  return err;
}

describe("errors never carry a password", () => {
  it("wraps a refused HELLO into ERR_AUTH whose cause keeps everything but the arguments", () => {
    const original = refusedHello();
    const err = toStoreError(original, "get", { sid: "s1" });
    expect(err).toBeInstanceOf(AuthenticationError);
    expect(err.code).toBe(ErrorCodes.AUTH);
    expect(findSecrets(err, SECRETS)).toEqual([]);
    const cause = err.cause as Reply & { command: { name: string; args: unknown[] } };
    expect(cause).toBeInstanceOf(ReplyError);
    expect(cause.name).toBe("ReplyError");
    expect(cause.message).toBe(original.message);
    expect(cause.stack).toBe(original.stack);
    expect(cause.command).toEqual({ name: "hello", args: ["***", "***", "***", "***"] });
    // The caller's own object is left as it was.
    expect(original.command.args[3]).toBe(PASSWORD);
  });

  it("scrubs command arguments anywhere in the chain (causes, lastNodeError, AggregateError, Buffers)", () => {
    const auth = refusedHello();
    const bytes = new ReplyError("NOPERM this user has no permissions") as Reply & {
      command: unknown;
    };
    bytes.command = { name: "auth", args: [Buffer.from("app"), Buffer.from(PASSWORD)] };
    const refresh = new Error("Failed to refresh slots cache.") as Error & {
      lastNodeError: unknown;
    };
    refresh.lastNodeError = auth;
    const wrapped = new Error("connection failed", {
      cause: new AggregateError([refresh, bytes], "every node failed"),
    });
    for (const err of [
      toStoreError(wrapped, "set", { sid: "s1" }),
      toStoreError(refresh, "the Redis connection"),
      new RedisStoreError(ErrorCodes.CONNECTION, "down", { cause: wrapped }),
    ]) {
      expect(err).toBeInstanceOf(RedisStoreError);
      expect(findSecrets(err, SECRETS)).toEqual([]);
    }
  });

  it("ends on an error that is its own cause, without leaving the original in the copy", () => {
    const looped = refusedHello() as Reply & { cause?: unknown; self?: unknown };
    looped.cause = looped;
    looped.self = [looped];
    const err = toStoreError(looped, "get");
    expect(findSecrets(err, SECRETS)).toEqual([]);
    const cause = err.cause as { cause: unknown; self: unknown[] };
    expect(cause.cause).toBe(cause);
    expect(cause.self[0]).toBe(cause);
  });

  it("keeps a cause that carries no command as the same object", () => {
    const plain = Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:1"), {
      code: "ECONNREFUSED",
    });
    const err = toStoreError(plain, "get");
    expect(err.code).toBe(ErrorCodes.CONNECTION);
    expect(err.cause).toBe(plain);
  });
});

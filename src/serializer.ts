import type { SessionData } from "express-session";
import { Packr } from "msgpackr";
import { SessionDecodeError } from "./errors.js";

/**
 * connect-redis' serializer interface. `stringify` may return text or bytes;
 * `parse` receives the stored value as text and may return a Promise.
 */
export interface Serializer {
  stringify(session: unknown): string | Uint8Array;
  parse(raw: string): unknown;
}

/**
 * A serializer the store can hand raw bytes to (the built-in ones). Reading
 * bytes skips a UTF-8 decode and lets one stored format be told from another.
 */
export interface BinarySerializer extends Serializer {
  readonly binary: true;
  readonly format: "msgpack" | "json";
  encode(session: unknown): Buffer | string;
  decode(raw: Buffer): unknown;
}

const OPEN_BRACE = 0x7b;

/**
 * Deeper than this, a value is taken to contain a cycle. Tracking the
 * ancestors of every value (as JSON.stringify does) cost a third of this
 * pass on the typical session (bench/serializers.ts); a cycle still fails,
 * only after this many levels, and no session nests this deep.
 */
const MAX_DEPTH = 1000;

/**
 * Reduces a value to what JSON.stringify would keep, except that Dates stay
 * Dates. Applying JSON's rules first (toJSON, dropping functions, symbols and
 * undefined, non-finite numbers to null) means switching serializers never
 * changes what a session holds. Throws on a cycle or a BigInt, as JSON does.
 */
export function toPlain(value: unknown, key = "", depth = 0): unknown {
  if (typeof value !== "object") {
    if (typeof value === "string" || typeof value === "boolean") return value;
    if (typeof value === "number") return Number.isFinite(value) ? value : null;
    if (typeof value === "bigint") throw new TypeError(`a BigInt at "${key}" cannot be serialized`);
    return undefined; // undefined, functions, symbols
  }
  if (value === null) return null;
  let v: unknown = value;
  if (v instanceof Date) return Number.isNaN(v.getTime()) ? null : v;
  const toJSON = (v as { toJSON?: unknown }).toJSON;
  if (typeof toJSON === "function") {
    v = toJSON.call(v, key);
    if (typeof v !== "object" || v === null || v instanceof Date) return toPlain(v, key, depth);
  }
  if (depth >= MAX_DEPTH) {
    throw new TypeError(`the value at "${key || "(root)"}" contains a cycle`);
  }
  const obj = v as Record<string, unknown>;
  // Copy on write: a plain object or array whose every member is already
  // what JSON keeps is returned as it is (measured: the large session's
  // pass took half the time). Anything else (class instances, Maps, typed
  // arrays) is rebuilt from its own enumerable properties, as JSON does.
  const proto = Object.getPrototypeOf(obj);
  if (Array.isArray(obj)) {
    let out: unknown[] | undefined = proto === Array.prototype ? undefined : [];
    for (let i = 0; i < obj.length; i++) {
      const original = obj[i];
      let item =
        typeof original === "string" || typeof original === "boolean"
          ? original
          : toPlain(original, String(i), depth + 1);
      if (item === undefined) item = null;
      if (out) out[i] = item;
      else if (item !== original || !(i in obj)) {
        out = obj.slice(0, i);
        out[i] = item;
      }
    }
    return out ?? obj;
  }
  const keys = Object.keys(obj);
  let out: Record<string, unknown> | undefined =
    proto === Object.prototype || proto === null ? undefined : {};
  for (let j = 0; j < keys.length; j++) {
    const k = keys[j]!;
    const original = obj[k];
    const item =
      typeof original === "string" || typeof original === "boolean"
        ? original
        : toPlain(original, k, depth + 1);
    if (out) {
      if (item !== undefined) out[k] = item;
    } else if (item !== original || item === undefined) {
      out = {};
      for (let m = 0; m < j; m++) out[keys[m]!] = obj[keys[m]!];
      if (item !== undefined) out[k] = item;
    }
  }
  return out ?? obj;
}

/** Parses JSON text as express-session and connect-redis write it. */
function parseJson(text: string): unknown {
  return JSON.parse(text);
}

// One reusable encoder: plain maps (no records extension) keep values readable
// by any MessagePack library; Dates use the standard timestamp extension.
const packr = new Packr({ useRecords: false, moreTypes: false, mapsAsObjects: true });

/** MessagePack, the default. Reads JSON text too, so connect-redis sessions still load. */
export const msgpackSerializer: BinarySerializer = {
  binary: true,
  format: "msgpack",
  encode: (session) => packr.pack(toPlain(session)),
  decode: (raw) => (raw[0] === OPEN_BRACE ? parseJson(raw.toString("utf8")) : packr.unpack(raw)),
  stringify(session) {
    return this.encode(session);
  },
  parse(raw) {
    return typeof raw === "string" ? parseJson(raw) : this.decode(raw as unknown as Buffer);
  },
};

/** JSON text, exactly what connect-redis writes. Reads MessagePack too. */
export const jsonSerializer: BinarySerializer = {
  binary: true,
  format: "json",
  encode: (session) => JSON.stringify(session),
  decode: (raw) => (raw[0] === OPEN_BRACE ? parseJson(raw.toString("utf8")) : packr.unpack(raw)),
  stringify(session) {
    return this.encode(session);
  },
  parse(raw) {
    return typeof raw === "string" ? parseJson(raw) : this.decode(raw as unknown as Buffer);
  },
};

export function isBinarySerializer(s: Serializer): s is BinarySerializer {
  return (s as Partial<BinarySerializer>).binary === true;
}

/** express-session expects `cookie.expires` as a Date; JSON stores it as text. */
export function reviveSession(value: unknown): unknown {
  if (value !== null && typeof value === "object") {
    const cookie = (value as { cookie?: { expires?: unknown } }).cookie;
    if (cookie && typeof cookie === "object" && typeof cookie.expires === "string") {
      const date = new Date(cookie.expires);
      if (!Number.isNaN(date.getTime())) cookie.expires = date;
    }
  }
  return value;
}

/**
 * How the store turns sessions into stored values and back, fixed once per
 * store: what to read (bytes or text) and the two conversions.
 */
export interface Codec {
  /** `"buffer"`: values are read as bytes (GET's Buffer form); `"string"`: as UTF-8 text. */
  readonly reads: "buffer" | "string";
  /** Throws what the serializer threw (the planner wraps it). */
  encode(session: unknown): string | Buffer;
  /** May return a Promise (a custom `parse` may be async). */
  decode(raw: Buffer | string): unknown;
}

/** A Uint8Array as a Buffer over the same memory: ioredis sends Buffers as bytes, other views as text. */
function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
}

/**
 * The codec of a serializer option. Built-ins read bytes and tell JSON from
 * MessagePack by the first byte. A custom serializer gets back what it wrote:
 * one whose `stringify` returns bytes (asked once, on an empty session) is
 * handed a Buffer, one that returns text is handed a string.
 */
export function codecFor(serializer: Serializer): Codec {
  if (isBinarySerializer(serializer)) {
    return {
      reads: "buffer",
      encode: (session) => serializer.encode(session),
      decode: (raw) => serializer.decode(raw as Buffer),
    };
  }
  let writesBytes = false;
  try {
    writesBytes = typeof serializer.stringify({ cookie: {} }) !== "string";
  } catch {
    // A serializer that cannot encode an empty session is treated as a text one.
  }
  return {
    reads: writesBytes ? "buffer" : "string",
    encode: (session) => {
      const out = serializer.stringify(session);
      return typeof out === "string" ? out : asBuffer(out);
    },
    decode: (raw) => serializer.parse(raw as string),
  };
}

function decodeError(sid: string, key: string, err: unknown): SessionDecodeError {
  return new SessionDecodeError(
    `The value stored at "${key}" for session "${sid}" could not be decoded (${(err as Error).message}). ` +
      "Delete the key or fix the serializer.",
    { sid, key, cause: err },
  );
}

function asSession(sid: string, key: string, value: unknown): SessionData {
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new SessionDecodeError(
      `The value stored at "${key}" for session "${sid}" decoded to ${value === null ? "null" : typeof value}, not a session object`,
      { sid, key },
    );
  }
  return reviveSession(value) as SessionData;
}

/**
 * A stored value as a session, or a SessionDecodeError naming the sid and
 * key. Synchronous for the built-in serializers (no promise on the hot
 * path); a Promise when a custom `parse` returns one.
 */
export function decodeSession(
  codec: Codec,
  sid: string,
  key: string,
  raw: Buffer | string,
): SessionData | Promise<SessionData> {
  let value: unknown;
  try {
    value = codec.decode(
      codec.reads === "string" && typeof raw !== "string" ? raw.toString() : raw,
    );
  } catch (err) {
    throw decodeError(sid, key, err);
  }
  if (
    value instanceof Promise ||
    typeof (value as { then?: unknown } | null)?.then === "function"
  ) {
    return Promise.resolve(value).then(
      (v) => asSession(sid, key, v),
      (err: unknown) => {
        throw decodeError(sid, key, err);
      },
    );
  }
  return asSession(sid, key, value);
}

/**
 * Redis Cluster key → hash slot, computed locally so keys can be grouped by
 * the node that owns them without asking the server. The CRC16 is
 * `cluster-key-slot`'s, the package ioredis routes with.
 */
import calculateSlot from "cluster-key-slot";

export const SLOTS = 16384;

const OPEN = 0x7b; // "{"
const CLOSE = 0x7d; // "}"
// Stands in for a brace; the brace is then the XOR of this with 0x7a or 0x7c.
const STAND_IN = 0x01;

/**
 * Whether a key starts its first "{" with an empty hash tag "{}": the one
 * shape where ioredis (through cluster-key-slot) may pick another slot than
 * Redis, and so route the key's commands to a master that answers MOVED.
 */
export function hasEmptyHashTag(key: string): boolean {
  const open = key.indexOf("{");
  return open >= 0 && key.charCodeAt(open + 1) === CLOSE;
}

/** The slot of a key, given as text (hashed as UTF-8) or as its bytes. */
export function keySlot(key: string | Uint8Array): number {
  if (typeof key === "string") {
    const open = key.indexOf("{");
    if (open < 0 || key.charCodeAt(open + 1) !== CLOSE) return calculateSlot(key);
    return wholeKeySlot(Buffer.from(key, "utf8"));
  }
  const open = key.indexOf(OPEN);
  if (open < 0 || key[open + 1] !== CLOSE) return calculateSlot(key);
  return wholeKeySlot(key);
}

/**
 * A key whose first "{" is followed at once by "}" has no hash tag: Redis
 * hashes the whole key. cluster-key-slot (1.1.1 and 1.1.2) instead hashes
 * from that empty tag to the next "}": CLUSTER KEYSLOT "foo{}{bar}" is 8363,
 * the package says 4015. It hashes a key without braces whole, and CRC16/XMODEM
 * has no initial value or final XOR, so it is linear: the CRC of the key is the
 * XOR of the CRCs of two brace-free halves whose XOR is the key.
 */
function wholeKeySlot(bytes: Uint8Array): number {
  const isBrace = (b: number) => b === OPEN || b === CLOSE;
  const rest = Uint8Array.from(bytes, (b) => (isBrace(b) ? STAND_IN : b));
  const braces = Uint8Array.from(bytes, (b) => (isBrace(b) ? b ^ STAND_IN : 0));
  return calculateSlot(rest) ^ calculateSlot(braces);
}

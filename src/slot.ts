/**
 * Redis Cluster key → hash slot (CRC16/XMODEM of the hash tag or the whole
 * key, mod 16384). Computed locally so keys can be grouped by owner without
 * asking the server, and without depending on a package ioredis happens to use.
 */

const TABLE = (() => {
  const t = new Uint16Array(256);
  for (let i = 0; i < 256; i++) {
    let crc = i << 8;
    for (let b = 0; b < 8; b++) crc = crc & 0x8000 ? (crc << 1) ^ 0x1021 : crc << 1;
    t[i] = crc & 0xffff;
  }
  return t;
})();

function crc16(bytes: Uint8Array, start: number, end: number): number {
  let crc = 0;
  for (let i = start; i < end; i++)
    crc = ((crc << 8) ^ TABLE[((crc >> 8) ^ bytes[i]!) & 0xff]!) & 0xffff;
  return crc;
}

export const SLOTS = 16384;

export function keySlot(key: string | Uint8Array): number {
  const bytes = typeof key === "string" ? Buffer.from(key, "utf8") : key;
  const open = bytes.indexOf(123); // "{"
  if (open >= 0) {
    const close = bytes.indexOf(125, open + 1); // "}"
    // An empty tag "{}" does not count: the whole key is hashed.
    if (close > open + 1) return crc16(bytes, open + 1, close) % SLOTS;
  }
  return crc16(bytes, 0, bytes.length) % SLOTS;
}

/** TTL rules, shared by set and touch. Expiry is kept in milliseconds (PX, PEXPIRE). */

export type TtlOption = number | ((session: any) => number);

interface CookieLike {
  expires?: Date | string | number | null;
}

/**
 * Milliseconds a session should live: a `ttl` function wins (it returns
 * seconds); otherwise the cookie's remaining lifetime; otherwise the numeric
 * `ttl` in seconds (default 86400). May be <= 0 ("already expired") or NaN
 * (a `ttl` function that returned something else; the planner refuses it).
 */
export function sessionTtlMs(session: unknown, ttl: TtlOption, now = Date.now()): number {
  if (typeof ttl === "function") {
    const seconds = ttl(session);
    return typeof seconds === "number" ? seconds * 1000 : Number.NaN;
  }
  const cookie = (session as { cookie?: CookieLike } | null | undefined)?.cookie;
  const expires = cookie?.expires;
  if (expires !== undefined && expires !== null && expires !== "") {
    const at = expires instanceof Date ? expires.getTime() : new Date(expires).getTime();
    if (!Number.isNaN(at)) return at - now;
  }
  return ttl * 1000;
}

/** PX and PEXPIRE take whole milliseconds; fractions round up so a session never expires early. */
export function toPx(ms: number): number {
  return Math.ceil(ms);
}

/** TTL rules, shared by set and touch. */

export const DEFAULT_TTL_SECONDS = 86_400;

export type TtlOption = number | ((session: any) => number);

interface CookieLike {
  expires?: Date | string | number | null;
}

/**
 * Seconds a session should live. A `ttl` function wins; otherwise the
 * cookie's remaining lifetime; otherwise the numeric `ttl` (default 86400).
 * May be <= 0, which means "already expired".
 */
export function sessionTtl(session: unknown, ttl: TtlOption, now = Date.now()): number {
  if (typeof ttl === "function") return ttl(session);
  const cookie = (session as { cookie?: CookieLike } | null | undefined)?.cookie;
  const expires = cookie?.expires;
  if (expires !== undefined && expires !== null && expires !== "") {
    const at = expires instanceof Date ? expires.getTime() : new Date(expires).getTime();
    if (!Number.isNaN(at)) return Math.ceil((at - now) / 1000);
  }
  return ttl;
}

/** Redis EX needs a positive integer; fractions round up so a session never expires early. */
export function toExpireSeconds(ttl: number): number {
  return Math.ceil(ttl);
}

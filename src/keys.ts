/**
 * Key naming. Standalone and Sentinel keys are `prefix + sid`, byte for byte
 * what connect-redis writes. On a cluster the sid is wrapped in a hash tag so
 * that every key of one session lands in one slot while sessions still spread
 * over all masters.
 */

export interface KeyScheme {
  readonly prefix: string;
  readonly hashTag: boolean;
  /** Redis key of a session id. */
  key(sid: string): string;
  /** Session id of a Redis key produced by {@link KeyScheme.key}, or undefined if it is not one. */
  sid(key: string): string | undefined;
  /** Whether `key` is one of this scheme's keys (no substring made: bulk walks test 100k keys). */
  owns(key: string): boolean;
  /** SCAN MATCH pattern that selects exactly this scheme's keys (a superset, filtered by `sid`). */
  readonly pattern: string;
}

/** Escapes the glob characters Redis' SCAN MATCH understands, so a prefix matches literally. */
export function escapeGlob(text: string): string {
  return text.replace(/[*?[\]\\]/g, "\\$&");
}

export function createKeyScheme(prefix: string, hashTag: boolean): KeyScheme {
  const start = prefix.length;
  if (hashTag) {
    return {
      prefix,
      hashTag,
      pattern: `${escapeGlob(`${prefix}{`)}*}`,
      key: (sid) => `${prefix}{${sid}}`,
      sid: (key) =>
        key.startsWith(prefix) && key.charCodeAt(start) === 123 && key.endsWith("}")
          ? key.slice(start + 1, -1)
          : undefined,
      owns: (key) => key.startsWith(prefix) && key.charCodeAt(start) === 123 && key.endsWith("}"),
    };
  }
  return {
    prefix,
    hashTag,
    pattern: `${escapeGlob(prefix)}*`,
    key: (sid) => prefix + sid,
    sid: (key) => (key.startsWith(prefix) ? key.slice(start) : undefined),
    owns: (key) => key.startsWith(prefix),
  };
}

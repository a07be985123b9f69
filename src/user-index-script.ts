import { createHash } from "node:crypto";

/**
 * Adds sids to index keys and, where needed, extends each key's expiry: many
 * keys in one call. ARGV repeats [index key, TTL in ms or "" for never,
 * check ("1" or "0"), n, sid 1 .. sid n]. KEYS[1] is the first index key and
 * only routes the call: on a cluster declared keys must share a slot, and
 * `allow-cross-slot-keys` (Redis >= 7.0) lets the script reach any key of the
 * node it runs on. A key of another node fails alone ("non local key").
 *
 * An index key's TTL only ever grows, and never falls below the TTL of a
 * session added to it; a session that never expires makes it permanent. When
 * it must grow, it grows an eighth past the session's TTL, so the sets that
 * follow within that slack need not touch it. The TTL is read and fixed only
 * when the caller asks (check = "1"): the caller knows how long the key lives
 * from an earlier reply, and the key cannot disappear before then, because
 * the checked call also adds a placeholder member, "", that is never
 * removed, so removing sids never empties the set (an empty set is deleted,
 * and would come back without a TTL). Otherwise only SADD runs; an SADD of a
 * member already there writes (and replicates) nothing. TTLs are relative, so
 * no clock is compared with another.
 *
 * Replies one entry per key: its TTL in ms after the call (-1: none) when it
 * was read, -3 when it was not, or the error that key met.
 */
export const ADD_SCRIPT = `#!lua flags=allow-cross-slot-keys
local out, a = {}, 1
while a <= #ARGV do
  local key, ms, check, n = ARGV[a], ARGV[a + 1], ARGV[a + 2], tonumber(ARGV[a + 3])
  local added = redis.pcall('SADD', key, unpack(ARGV, a + 4, a + 3 + n))
  if type(added) == 'table' then
    out[#out + 1] = added.err
  elseif check == '0' then
    out[#out + 1] = -3
  else
    local ttl = redis.call('PTTL', key)
    if ttl == -1 and redis.call('SCARD', key) == added then ttl = -2 end
    redis.call('SADD', key, '')
    if ms == '' then
      if ttl >= 0 then redis.call('PERSIST', key) end
      ttl = -1
    elseif ttl == -2 or (ttl >= 0 and ttl < tonumber(ms)) then
      ttl = tonumber(ms) + math.floor(tonumber(ms) / 8)
      redis.call('PEXPIRE', key, ttl)
    end
    out[#out + 1] = ttl
  end
  a = a + 4 + n
end
return out`;
export const ADD_SHA = createHash("sha1").update(ADD_SCRIPT).digest("hex");

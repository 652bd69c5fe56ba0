/**
 * The Lua scripts of `check --in-cluster`. Each runs atomically in Redis, so
 * every step that must not be torn (queue and record the highest index; keep
 * the first result and acknowledge its work; take a slot and a token) is one
 * script. ioredis loads them with EVALSHA and falls back to EVAL when a
 * restarted Redis lost its script cache.
 *
 * Why our own scripts rather than rate-limiter-flexible or BullMQ (measured,
 * see docs/check-cluster.md): rate-limiter-flexible counts points in fixed
 * windows per key (up to twice the rate across a window edge, and no
 * concurrency slots), and BullMQ stores one hash per job plus lists and
 * events (about 1 KB per job: a 50,000-address window takes tens of MB and a
 * million jobs cost a million round trips of Lua). A stream entry per batch
 * of addresses and a token bucket of a few lines do exactly what is needed.
 */

/** KEYS run, queue; ARGV runId, then pairs (highest index, batch: gzipped JSON). Returns entries queued, or -1 when the run is gone (Redis lost its data). */
export const PUSH = `
if redis.call('HGET', KEYS[1], 'id') ~= ARGV[1] then return -1 end
local pushed = tonumber(redis.call('HGET', KEYS[1], 'pushed') or '0')
local n = 0
for k = 2, #ARGV, 2 do
  local highest = tonumber(ARGV[k])
  if highest > pushed then
    redis.call('XADD', KEYS[2], '*', 'b', ARGV[k + 1])
    pushed = highest
    n = n + 1
  end
end
redis.call('HSET', KEYS[1], 'pushed', pushed)
return n`;

/**
 * KEYS run, queue, results, arrivals; ARGV group, entry id ('' for none),
 * batch key ("FIRST-LAST" input indexes), results (gzipped JSON array).
 * Keeps the first results per batch (and none the CLI already wrote past),
 * announces them, acknowledges and deletes the entry. Returns 1 when the
 * results were new, else 0.
 */
export const COMPLETE = `
local written = tonumber(redis.call('HGET', KEYS[1], 'written') or '0')
local last = tonumber(string.match(ARGV[3], '-(%d+)$'))
local new = 0
if last > written and redis.call('HSETNX', KEYS[3], ARGV[3], ARGV[4]) == 1 then
  redis.call('XADD', KEYS[4], '*', 'k', ARGV[3])
  new = 1
end
if ARGV[2] ~= '' then
  redis.call('XACK', KEYS[2], ARGV[1], ARGV[2])
  redis.call('XDEL', KEYS[2], ARGV[2])
end
return new`;

/**
 * KEYS run, checkpoint, results, arrivals; ARGV runId, checkpoint JSON,
 * written index, arrival cursor, then the batch keys wholly written since the
 * last checkpoint (their results are dropped). Returns 1, or -1 when the run is gone.
 */
export const CHECKPOINT = `
if redis.call('HGET', KEYS[1], 'id') ~= ARGV[1] then return -1 end
redis.call('SET', KEYS[2], ARGV[2])
redis.call('HSET', KEYS[1], 'written', ARGV[3])
for k = 5, #ARGV, 500 do
  redis.call('HDEL', KEYS[3], unpack(ARGV, k, math.min(k + 499, #ARGV)))
end
if ARGV[4] ~= '0-0' then redis.call('XTRIM', KEYS[4], 'MINID', ARGV[4]) end
return 1`;

/** Redis's own clock in milliseconds (with microseconds as the fraction): every shard's limits run on one clock. */
const SERVER_NOW = `
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + tonumber(clock[2]) / 1000`;

/**
 * Permits for up to N waiters at once: each a concurrency slot and a token,
 * both or neither. KEYS slots (sorted set: holder -> lease expiry), bucket
 * (hash: tokens t, last refill l); ARGV concurrency (0: no slot needed),
 * lease ms, rate per second (0: no bucket), burst, then one holder id per
 * waiter, in the order they wait. Grants the first n (as many as there are
 * free slots and whole tokens) and returns {n, wait}: wait 0 when all were
 * granted, -1 when slots ran short (wait for a release), else the
 * milliseconds until the next token. Time is Redis's (TIME), never a shard's,
 * so the bucket refills at the same rate whoever asks. Slots of a holder that
 * stopped renewing expire by themselves (a dead shard frees its slots).
 */
export const PERMIT = `${SERVER_NOW}
local limit = tonumber(ARGV[1])
local lease = tonumber(ARGV[2])
local rate = tonumber(ARGV[3])
local want = #ARGV - 4
local slots = want
if limit > 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
  slots = math.max(0, limit - redis.call('ZCARD', KEYS[1]))
end
local n = math.min(want, slots)
local tokens = 0
if rate > 0 then
  local burst = tonumber(ARGV[4])
  local b = redis.call('HMGET', KEYS[2], 't', 'l')
  tokens = tonumber(b[1]) or burst
  local last = tonumber(b[2]) or now
  if now > last then
    tokens = math.min(burst, tokens + (now - last) * rate / 1000)
    last = now
  end
  n = math.min(n, math.floor(tokens))
  tokens = tokens - n
  redis.call('HSET', KEYS[2], 't', tostring(tokens), 'l', tostring(last))
  redis.call('PEXPIRE', KEYS[2], 3600000)
end
if limit > 0 and n > 0 then
  local args = {}
  for k = 1, n do
    args[2 * k - 1] = now + lease
    args[2 * k] = ARGV[4 + k]
  end
  redis.call('ZADD', KEYS[1], unpack(args))
  redis.call('PEXPIRE', KEYS[1], 3600000)
end
local wait = 0
if n < want then
  if n >= slots then
    wait = -1
  else
    wait = math.max(1, math.ceil((1 - tokens) * 1000 / rate))
  end
end
return {n, wait}`;

/** Extends the leases of slots still held. KEYS slots; ARGV lease ms, then the holders (gone ones are not added back). */
export const RENEW = `${SERVER_NOW}
local expiry = now + tonumber(ARGV[1])
for k = 2, #ARGV do
  redis.call('ZADD', KEYS[1], 'XX', expiry, ARGV[k])
end
return 1`;

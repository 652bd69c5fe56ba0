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

/**
 * A permit: a concurrency slot and a token, taken together or not at all.
 * KEYS slots (sorted set: holder -> lease expiry), bucket (hash: tokens t,
 * last refill l); ARGV concurrency (0: no slot needed), holder, lease expiry,
 * now (ms, the caller's Clock), rate per second (0: no bucket), burst.
 * Returns 0 when granted, -1 when no slot is free, else the milliseconds
 * until the next token. Slots of a holder that stopped renewing expire by
 * themselves (a dead shard frees its slots).
 */
export const PERMIT = `
local limit = tonumber(ARGV[1])
local now = tonumber(ARGV[4])
if limit > 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
  if redis.call('ZCARD', KEYS[1]) >= limit then return -1 end
end
local rate = tonumber(ARGV[5])
if rate > 0 then
  local burst = tonumber(ARGV[6])
  local b = redis.call('HMGET', KEYS[2], 't', 'l')
  local tokens = tonumber(b[1]) or burst
  local last = tonumber(b[2]) or now
  if now > last then
    tokens = math.min(burst, tokens + (now - last) * rate / 1000)
    last = now
  end
  if tokens < 1 then
    redis.call('HSET', KEYS[2], 't', tostring(tokens), 'l', tostring(last))
    return math.max(1, math.ceil((1 - tokens) * 1000 / rate))
  end
  redis.call('HSET', KEYS[2], 't', tostring(tokens - 1), 'l', tostring(last))
  redis.call('PEXPIRE', KEYS[2], 3600000)
end
if limit > 0 then
  redis.call('ZADD', KEYS[1], ARGV[3], ARGV[2])
  redis.call('PEXPIRE', KEYS[1], 3600000)
end
return 0`;

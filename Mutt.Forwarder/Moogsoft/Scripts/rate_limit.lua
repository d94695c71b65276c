-- Spec 002 shared sliding-window rate limiter (KEYS[1] = mutt:rate_limit:moog, a sorted set of
-- request timestamps). ARGV: limit, window in ms, a member unique to this request.
-- Atomic so that N replicas checking at once can never all see "one slot left" and all take it.
-- Time comes from the Redis server (TIME), not the callers, so replicas with skewed clocks
-- still share one window. Returns 0 when allowed, else the ms until the oldest entry leaves.
local limit = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local current = redis.call('ZCARD', KEYS[1])
if current < limit then
  redis.call('ZADD', KEYS[1], now, ARGV[3])
  redis.call('PEXPIRE', KEYS[1], window)
  return 0
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
local wait = tonumber(oldest[2]) + window - now + 1
if wait < 1 then wait = 1 end
return wait

-- Sends the clear of every flapping state that has been quiet for its whole window.
-- KEYS[1] = mutt:flapping:active (ZSET: state key -> when it goes quiet, ms), KEYS[2] = the alert
-- queue, KEYS[3] = mutt:flapping:sweep_lock. ARGV[1] = this Alerter's pod name, ARGV[2] = lock ms,
-- ARGV[3] = most states per call, ARGV[4] = the state key prefix, ARGV[5] = the transitions key prefix.
-- Returns the number of clears pushed, or -1 when another Alerter holds the sweep.
-- One replica sweeps at a time (the lock, renewed while its holder keeps sweeping, expires if it
-- dies). The clear is pushed and the state removed in this one atomic step, so a clear is sent
-- exactly once even if flapping.lua finds the same state quiet at the same moment.
local holder = redis.call('GET', KEYS[3])
if holder and holder ~= ARGV[1] then
  return -1
end
redis.call('SET', KEYS[3], ARGV[1], 'PX', tonumber(ARGV[2]))
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local cleared = 0
for _, state in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, tonumber(ARGV[3]))) do
  local last = tonumber(redis.call('HGET', state, 'last') or '0')
  local window = tonumber(redis.call('HGET', state, 'window') or '0')
  local transitions = ARGV[5] .. string.sub(state, #ARGV[4] + 1)
  if last > 0 and now - last < window then
    redis.call('ZADD', KEYS[1], last + window, state) -- an event came after the deadline was set
  elseif redis.call('HEXISTS', state, 'template') == 0 and redis.call('EXISTS', state) == 1 then
    -- Not armed yet: the batch that started the episode has not committed (PostgreSQL down longer
    -- than the window). Its commit, or its replay, arms it; look again a window later.
    redis.call('ZADD', KEYS[1], now + window, state)
  else
    local template = redis.call('HGET', state, 'template')
    if template then
      local alert = cjson.decode(template)
      alert['transition_count'] = tonumber(redis.call('HGET', state, 'count') or '0')
      alert['cleared_at_ms'] = now
      redis.call('LPUSH', KEYS[2], cjson.encode(alert))
      cleared = cleared + 1
    end
    redis.call('DEL', state, transitions)
    redis.call('ZREM', KEYS[1], state)
  end
end
return cleared

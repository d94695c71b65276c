-- Flapping detection of a whole batch in one call, shared by every Alerter replica.
-- KEYS[1] = mutt:flapping:active (ZSET: state key -> when it goes quiet, ms), then per event i:
-- KEYS[2i] = mutt:flapping:s:{rule}:{host}:{interface} (HASH), KEYS[2i+1] = mutt:flapping:t:... (its transitions, ZSET)
-- ARGV[1] = n events; per event i, at b = 1 + 4(i-1): ARGV[b+1] correlation id, ARGV[b+2] 'o'|'c',
-- ARGV[b+3] window ms, ARGV[b+4] threshold.
-- Returns per event {code, count}: 0 = not flapping (handle as usual), 1 = this event made it flap
-- (forward one Flapping alert with count transitions), 2 = flapping (audit Flapping, forward nothing).
-- The episode's clear (an AlertMessage) is stored by flapping_arm.lua in the batch's completion
-- transaction, so this hot-path call carries no JSON.
--
-- A transition is an event of the other kind than the last one (DOWN after UP); repeats of the same
-- kind keep the state alive but are not transitions. Transitions are ZSET members named by the
-- event's correlation id, so a replayed batch adds nothing. Time is Redis's own clock (TIME),
-- the same for every replica. A flapping state has no TTL: only flapping_sweep.lua removes it, in the
-- same atomic step that pushes its clear, so the clear is sent exactly once and survives any
-- Alerter restart. An event that arrives after a window of quiet but before the sweep (at most one
-- sweep interval) finds the state still flapping: the episode goes on rather than clearing and
-- paging again.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local n = tonumber(ARGV[1])

local out = {}
for i = 1, n do
  local state, transitions = KEYS[2 * i], KEYS[2 * i + 1]
  local b = 1 + 4 * (i - 1)
  local id, kind = ARGV[b + 1], ARGV[b + 2]
  local window, threshold = tonumber(ARGV[b + 3]), tonumber(ARGV[b + 4])
  local flapping = redis.call('HGET', state, 'flapping') == '1'
  local code, count = 0, 0
  if redis.call('ZSCORE', transitions, id) then
    -- A replay: the same answer as far as the state still knows it.
    if redis.call('HGET', state, 'alert_id') == id then code = 1 elseif flapping then code = 2 end
    count = tonumber(redis.call('HGET', state, 'count') or '0')
  else
    local transition = redis.call('HGET', state, 'kind') ~= kind
    if flapping then
      redis.call('HSET', state, 'last', now) -- keeps a flapping interface from being cleared
    end
    if transition then
      redis.call('HSET', state, 'kind', kind)
      redis.call('ZADD', transitions, now, id)
      redis.call('ZREMRANGEBYSCORE', transitions, '-inf', now - window)
      if flapping then
        redis.call('HINCRBY', state, 'count', 1)
      end
    end
    if flapping then
      code = 2
      count = tonumber(redis.call('HGET', state, 'count'))
      redis.call('ZADD', KEYS[1], now + window, state)
    elseif transition then
      -- Only a transition can reach the threshold; a repeat of the same kind changes nothing.
      count = redis.call('ZCARD', transitions)
      if count >= threshold then
        code = 1
        redis.call('HSET', state, 'flapping', '1', 'count', count, 'alert_id', id, 'window', window, 'last', now)
        redis.call('PERSIST', state)
        redis.call('PERSIST', transitions)
        redis.call('ZADD', KEYS[1], now + window, state)
      else
        redis.call('PEXPIRE', state, window)
        redis.call('PEXPIRE', transitions, window)
      end
    end
  end
  out[2 * i - 1] = code
  out[2 * i] = count
end
return out

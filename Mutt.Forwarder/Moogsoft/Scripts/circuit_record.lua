-- Records the outcome of a request. KEYS: state, failures, opened_at, probe.
-- ARGV: 1 success / 0 failure, failure threshold. Returns the new state.
-- Transitions: success → CLOSED (failures 0) unless OPEN (a late
-- answer to a request sent before the circuit opened does not cut the open period short);
-- failure in HALF_OPEN → OPEN; the threshold-th consecutive failure in CLOSED → OPEN.
local state = redis.call('GET', KEYS[1]) or 'CLOSED'
local t = redis.call('TIME')
local nowText = t[1] .. '.' .. string.format('%06d', tonumber(t[2]))
if ARGV[1] == '1' then
  if state == 'OPEN' then
    return state
  end
  redis.call('SET', KEYS[1], 'CLOSED')
  redis.call('SET', KEYS[2], 0)
  redis.call('DEL', KEYS[3], KEYS[4])
  return 'CLOSED'
end
if state == 'OPEN' then
  return state
end
if state == 'HALF_OPEN' then
  redis.call('SET', KEYS[1], 'OPEN')
  redis.call('SET', KEYS[3], nowText)
  redis.call('DEL', KEYS[4])
  return 'OPEN'
end
local failures = redis.call('INCR', KEYS[2])
if failures >= tonumber(ARGV[2]) then
  redis.call('SET', KEYS[1], 'OPEN')
  redis.call('SET', KEYS[3], nowText)
  return 'OPEN'
end
return state

-- May this replica send to Moogsoft now? KEYS: state, failures, opened_at, probe.
-- ARGV: open duration ms, probe lease ms, probe token.
-- Returns {decision, state, failures}: decision 0 = send, 1 = blocked, 2 = send as the single
-- HALF_OPEN probe. Atomic so that when OPEN expires exactly one replica (the one whose SET NX
-- wins) probes; the lease expires so a prober that dies cannot keep the circuit shut forever.
local state = redis.call('GET', KEYS[1]) or 'CLOSED'
local failures = tonumber(redis.call('GET', KEYS[2]) or '0')
if state == 'CLOSED' then
  return {0, state, failures}
end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
if state == 'OPEN' then
  local opened = tonumber(redis.call('GET', KEYS[3]) or '0') * 1000
  if now - opened < tonumber(ARGV[1]) then
    return {1, state, failures}
  end
  state = 'HALF_OPEN'
  redis.call('SET', KEYS[1], state)
end
if redis.call('SET', KEYS[4], ARGV[3], 'PX', tonumber(ARGV[2]), 'NX') then
  return {2, state, failures}
end
return {1, state, failures}

-- Stores the clear of a flapping episode, in the completion transaction of the batch whose event
-- started it. KEYS[1] = the state (mutt:flapping:s:...), ARGV[1] = that event's correlation id,
-- ARGV[2] = the clear (AlertMessage JSON) flapping_sweep.lua pushes when the interface is quiet.
-- Only the episode that event started is armed: if the state is gone or belongs to a newer episode,
-- nothing is written (no orphan keys). A replay of the batch arms it again (same id, same clear).
if redis.call('HGET', KEYS[1], 'alert_id') == ARGV[1] then
  redis.call('HSET', KEYS[1], 'template', ARGV[2])
  return 1
end
return 0

-- Reclaim a dead worker's processing list (KEYS[1]) into the source queue (KEYS[2]): only if
-- its heartbeat (KEYS[3]) is absent. Checking the heartbeat inside the script closes the race
-- where the owner writes a fresh heartbeat between the janitor's check and the move.
-- The dead worker (ARGV[1]) then leaves the set of workers with a processing list (KEYS[4]);
-- should it come back under that name, its next take adds it again.
if redis.call('EXISTS', KEYS[3]) == 1 then
  return -1
end
local moved = 0
while true do
  local v = redis.call('LMOVE', KEYS[1], KEYS[2], 'RIGHT', 'RIGHT')
  if not v then break end
  moved = moved + 1
end
redis.call('SREM', KEYS[4], ARGV[1])
return moved

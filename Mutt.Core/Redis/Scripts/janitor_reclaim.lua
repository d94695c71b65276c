-- Reclaim a dead worker's processing list: only if its heartbeat (KEYS[3]) is absent.
-- Checking the heartbeat inside the script closes the race where the owner writes a fresh
-- heartbeat between the janitor's check and the move.
if redis.call('EXISTS', KEYS[3]) == 1 then
  return -1
end
local moved = 0
while true do
  local v = redis.call('LMOVE', KEYS[1], KEYS[2], 'RIGHT', 'RIGHT')
  if not v then break end
  moved = moved + 1
end
return moved

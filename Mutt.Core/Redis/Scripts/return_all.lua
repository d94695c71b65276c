-- Move every item of a processing list (KEYS[1]) back to the consumer end of its source
-- queue (KEYS[2]) so they are processed next, in their original order, then drop the list.
-- Runs atomically so a janitor racing a second janitor (or the revived owner) cannot move
-- an item twice or lose one in between.
local moved = 0
while true do
  local v = redis.call('LMOVE', KEYS[1], KEYS[2], 'RIGHT', 'RIGHT')
  if not v then break end
  moved = moved + 1
end
return moved

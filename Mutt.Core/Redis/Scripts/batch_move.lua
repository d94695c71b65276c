-- Atomically move up to ARGV[1] items from the consumer end of the source queue (KEYS[1])
-- into the worker's own processing list (KEYS[2]) and return them, oldest first.
-- Atomicity is the whole point: an item is always in exactly one of the two lists, so a
-- worker that dies after this call leaves its batch where the janitor can find it.
local items = redis.call('RPOP', KEYS[1], tonumber(ARGV[1]))
if not items then
  return {}
end
redis.call('RPUSH', KEYS[2], unpack(items))
return items

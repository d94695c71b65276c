-- Atomically move up to ARGV[1] items from the consumer end of the source queue (KEYS[1])
-- into the worker's own processing list (KEYS[2]) and return them, oldest first.
-- Atomicity is the whole point: an item is always in exactly one of the two lists, so a
-- worker that dies after this call leaves its batch where the janitor can find it.
-- The worker's name (ARGV[2]) joins the set of workers with a processing list (KEYS[3]) in
-- the same step, so the janitor finds every list without scanning the keyspace.
local items = redis.call('RPOP', KEYS[1], tonumber(ARGV[1]))
if not items then
  return {}
end
redis.call('RPUSH', KEYS[2], unpack(items))
redis.call('SADD', KEYS[3], ARGV[2])
return items

-- Deduplication of a whole batch in one call, shared by every Alerter replica.
-- Per event i (in batch order):
--   KEYS[2i-1] = mutt:dedup:{hash}         this window: HASH first (correlation id), count, carried; EXPIRE = the window
--   KEYS[2i]   = mutt:dedup:repeats:{hash} repeats since the last forward, carried by the next one
--   ARGV[1]    = how long unreported repeats are kept (seconds)
--   ARGV[2i]   = the event's correlation id, ARGV[2i+1] = its window (seconds)
-- Returns, per event, {seq, carried}: seq 1 = the first of its window (handled as if there were no
-- deduplication; carried = the repeats of the previous window, which its Moogsoft event reports),
-- seq n > 1 = the (n-1)th repeat in this window (audited Deduplicated, not forwarded).
-- Atomic, so with any number of Alerters exactly one event opens a window. A replayed first event
-- (its batch was returned after a crash) is recognised by its correlation id and is the first
-- again, so the alert is re-sent (same Moogsoft signature), never lost. A replayed repeat is
-- counted again: repeat numbers may skip, the audit row written first is kept (idempotent audit).
local out = {}
for i = 1, #KEYS / 2 do
  local window, repeats = KEYS[2 * i - 1], KEYS[2 * i]
  local id = ARGV[2 * i]
  local first = redis.call('HGET', window, 'first')
  if not first then
    local carried = tonumber(redis.call('GET', repeats) or '0')
    redis.call('DEL', repeats)
    redis.call('HSET', window, 'first', id, 'count', 1, 'carried', carried)
    redis.call('EXPIRE', window, tonumber(ARGV[2 * i + 1]))
    out[2 * i - 1] = 1
    out[2 * i] = carried
  elseif first == id then
    out[2 * i - 1] = 1
    out[2 * i] = tonumber(redis.call('HGET', window, 'carried') or '0')
  else
    out[2 * i - 1] = redis.call('HINCRBY', window, 'count', 1)
    redis.call('INCR', repeats)
    redis.call('EXPIRE', repeats, tonumber(ARGV[1]))
    out[2 * i] = 0
  end
end
return out

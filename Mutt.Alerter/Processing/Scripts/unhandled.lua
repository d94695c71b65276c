-- Spec 002's unhandled-event counter, aggregated per batch and for many hosts in one call.
-- KEYS come in pairs: KEYS[2i-1] = mutt:unhandled:{hostname} (the counter),
--                     KEYS[2i]   = mutt:unhandled:triggered:{hostname} (set once the threshold was crossed).
-- ARGV[1] = threshold, ARGV[2] = expiry seconds, ARGV[3] = the list to push meta-alerts to,
-- ARGV[4] = the meta-alert JSON with the byte 0x01 wherever the host name goes (JSON never holds
--           that byte raw), so a batch from a thousand hosts sends one alert, not a thousand;
-- then per pair: ARGV[3+2i] = how many unhandled events of that host this batch saw,
--                ARGV[4+2i] = the host name escaped for a JSON string.
-- Atomic, so with any number of replicas exactly one call sees the counter cross the threshold
-- (the counter is renamed away in the same step), and the meta-alert push happens inside the
-- script: when the caller runs it in the batch's completion transaction, the count, the
-- meta-alert and the ack land together.
local threshold = tonumber(ARGV[1])
local expiry = tonumber(ARGV[2])
local fired = {}
for i = 1, #KEYS / 2 do
  local key = KEYS[2 * i - 1]
  local triggered = KEYS[2 * i]
  local n = tonumber(ARGV[3 + 2 * i])
  fired[i] = 0
  if redis.call('EXISTS', triggered) == 0 then
    local count = redis.call('INCRBY', key, n)
    if count == n then
      redis.call('EXPIRE', key, expiry)
    end
    -- No earlier call reached the threshold (it would have renamed the counter), so reaching
    -- it now is the crossing, even when a batch jumps over the exact value.
    if count >= threshold then
      redis.call('RENAME', key, triggered)
      redis.call('EXPIRE', triggered, expiry)
      local host = ARGV[4 + 2 * i]
      -- A function as the replacement: the host is inserted as it is (no % patterns).
      redis.call('LPUSH', ARGV[3], (string.gsub(ARGV[4], '\1', function() return host end)))
      fired[i] = 1
    end
  end
end
return fired

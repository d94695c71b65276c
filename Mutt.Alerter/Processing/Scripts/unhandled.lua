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
local hosts = #KEYS / 2
-- Which hosts already fired in their window: one MGET per 500 hosts instead of an EXISTS each (a
-- batch of syslog lines from a thousand hosts made 2,000 calls; the calls, not the work, cost).
-- A triggered key holds the count it was renamed from, so it is never nil when it exists.
local already = {}
for first = 1, hosts, 500 do
  local last = math.min(first + 499, hosts)
  local names = {}
  for i = first, last do
    names[#names + 1] = KEYS[2 * i]
  end
  local values = redis.call('MGET', unpack(names))
  for j = 1, #values do
    already[first + j - 1] = values[j] ~= false
  end
end
local fired = {}
for i = 1, hosts do
  local key = KEYS[2 * i - 1]
  local triggered = KEYS[2 * i]
  local n = tonumber(ARGV[3 + 2 * i])
  fired[i] = 0
  if not already[i] then
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

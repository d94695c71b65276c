-- Moves one exact DLQ entry (ARGV[1]) out of KEYS[1] and LPUSHes ARGV[2] onto KEYS[2]
-- (another list, or the same list to rewrite the entry). LREM of the exact text inside the
-- script is what makes it safe against a second Remediation, a Dashboard click or a trim
-- racing us: whoever removes the entry first moves it, everyone else gets 0 and does nothing,
-- so an entry is never duplicated or lost. Count -1 takes the oldest copy (entries are LPUSHed).
-- Optional KEYS[3]/ARGV[3]/ARGV[4]: append ARGV[3] to the replay-history list KEYS[3], TTL ARGV[4] s.
if redis.call('LREM', KEYS[1], -1, ARGV[1]) == 0 then
  return 0
end
redis.call('LPUSH', KEYS[2], ARGV[2])
if KEYS[3] then
  redis.call('RPUSH', KEYS[3], ARGV[3])
  redis.call('EXPIRE', KEYS[3], tonumber(ARGV[4]))
end
return 1

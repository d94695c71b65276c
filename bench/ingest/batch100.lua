-- A JSON array of 100 events per request.
local event = '{"timestamp":"2025-03-15T11:00:00Z","message":"%LINK-3-UPDOWN: Interface GigabitEthernet0/1, changed state to down","hostname":"core-sw-01","source":"syslog","syslog_severity":3}'
local events = {}
for i = 1, 100 do events[i] = event end
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["X-API-KEY"] = os.getenv("INGEST_API_KEY") or "bench-key"
wrk.body = "[" .. table.concat(events, ",") .. "]"

done = function(summary, latency, requests)
  io.write(string.format("events/s: %.0f\n", summary.requests / (summary.duration / 1e6) * 100))
end

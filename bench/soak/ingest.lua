-- wrk script for the soak: POST batches of valid events to the Ingestor at a paced rate.
-- Environment: INGEST_API_KEY (required), SOAK_BATCH (events per request, default 10),
-- SOAK_DELAY_MS (pause per connection between requests; soak.sh derives it from --rate).
local api_key = os.getenv("INGEST_API_KEY") or error("INGEST_API_KEY is not set")
local batch = tonumber(os.getenv("SOAK_BATCH") or "10")
local delay_ms = tonumber(os.getenv("SOAK_DELAY_MS") or "0")
local counter = 0
local thread_id = 0
local threads = {}

function setup(thread)
  thread:set("thread_id", #threads)
  table.insert(threads, thread)
end

function init(args)
  math.randomseed(os.time() + thread_id * 7919)
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["X-API-KEY"] = api_key
end

-- A mix that exercises every path: 1/2 match seeded rule 2 (LINK-DOWN, Page_and_ticket: audited and
-- forwarded), 1/4 seeded rule 3 (regex %SYS-[0-3]-..., Ticket_only: forwarded), 1/4 no rule (unhandled:
-- audited, counted per host, one meta-alert per host and window).
local messages = {
  "soak %d-%d %%LINK-3-UPDOWN: LINK-DOWN Interface Gi0/%d, changed state to down",
  "soak %d-%d %%LINK-3-UPDOWN: LINK-DOWN Interface Te1/%d, changed state to down",
  "soak %d-%d %%SYS-2-MALLOCFAIL: Memory allocation of %d bytes failed",
  "soak %d-%d %%LINEPROTO-5-UPDOWN: Line protocol on Interface Vlan%d, changed state to up",
}

local function event()
  counter = counter + 1
  local message = string.format(messages[(counter % 4) + 1], thread_id, counter, math.random(1, 48))
  return string.format(
    '{"timestamp":"%s","message":"%s","hostname":"router-%d.example.net","syslog_severity":%d,"source":"syslog"}',
    os.date("!%Y-%m-%dT%H:%M:%SZ"), message, math.random(1, 500), math.random(0, 7))
end

function request()
  local events = {}
  for i = 1, batch do events[i] = event() end
  return wrk.format(nil, nil, nil, "[" .. table.concat(events, ",") .. "]")
end

function delay()
  return delay_ms
end

local non202 = 0
function response(status, headers, body)
  if status ~= 202 then non202 = non202 + 1 end
end

function done(summary, latency, requests)
  io.write(string.format("requests=%d errors_connect=%d errors_read=%d errors_write=%d errors_status=%d errors_timeout=%d p50_ms=%.1f p99_ms=%.1f\n",
    summary.requests, summary.errors.connect, summary.errors.read, summary.errors.write, summary.errors.status,
    summary.errors.timeout, latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end

-- One event per request.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["X-API-KEY"] = os.getenv("INGEST_API_KEY") or "bench-key"
wrk.body = '{"timestamp":"2025-03-15T11:00:00Z","message":"%LINK-3-UPDOWN: Interface GigabitEthernet0/1, changed state to down","hostname":"core-sw-01","source":"syslog","syslog_severity":3}'

-- One Prometheus Alertmanager webhook notification (payload version 4) of 100 alerts per request,
-- authenticated the way Alertmanager does it (Authorization: Bearer). Same shape as a real 0.25 notification.
local alerts = {}
for i = 1, 100 do
  alerts[i] = string.format('{"status":"firing","labels":{"alertname":"InterfaceDown","instance":"core-sw-%02d:9100","job":"snmp","ifName":"Gi0/%d","severity":"critical"},' ..
    '"annotations":{"summary":"Interface Gi0/%d is down","description":"ifOperStatus is down on core-sw-%02d"},' ..
    '"startsAt":"2026-12-06T04:59:08.173695826Z","endsAt":"0001-01-01T00:00:00Z","generatorURL":"http://prometheus:9090/graph","fingerprint":"7e1857a68a0e%04x"}',
    i % 40, i, i, i % 40, i)
end
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. (os.getenv("INGEST_API_KEY") or "bench-key")
wrk.body = '{"receiver":"mutt","status":"firing","alerts":[' .. table.concat(alerts, ",") ..
  '],"groupLabels":{"alertname":"InterfaceDown"},"commonLabels":{"alertname":"InterfaceDown","job":"snmp","severity":"critical"},' ..
  '"commonAnnotations":{},"externalURL":"http://alertmanager:9093","version":"4","groupKey":"{}:{alertname=\\"InterfaceDown\\"}","truncatedAlerts":0}'

done = function(summary, latency, requests)
  io.write(string.format("alerts/s: %.0f\n", summary.requests / (summary.duration / 1e6) * 100))
end

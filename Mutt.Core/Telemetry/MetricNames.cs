namespace Mutt.Core.Telemetry;

/// <summary>
/// Every Prometheus series name MUTT exposes (spec 004 "Metrics"), for the meters that create them and
/// for the readers (the Dashboard's SLO queries, the flow counters' documentation). Operators' alert
/// rules and dashboards use these exact names. (ServiceDefaults owns mutt_health_dependency_up: it
/// depends on no MUTT code.)
/// </summary>
public static class MetricNames
{
    // alerter
    public const string AlerterCacheDevHostsCount = "mutt_alerter_cache_dev_hosts_count";
    public const string AlerterCacheReloadFailuresTotal = "mutt_alerter_cache_reload_failures_total";
    public const string AlerterCacheRulesCount = "mutt_alerter_cache_rules_count";
    public const string AlerterCacheTeamsCount = "mutt_alerter_cache_teams_count";
    public const string AlerterCompletionsNotCommittedTotal = "mutt_alerter_completions_not_committed_total";
    public const string AlerterDlqDepth = "mutt_alerter_dlq_depth";
    public const string AlerterEventsProcessedTotal = "mutt_alerter_events_processed_total";
    public const string AlerterFlappingAlertsTotal = "mutt_alerter_flapping_alerts_total";
    public const string AlerterFlappingClearsTotal = "mutt_alerter_flapping_clears_total";
    public const string AlerterMetaAlertsTotal = "mutt_alerter_meta_alerts_total";
    public const string AlerterProcessingLatencySeconds = "mutt_alerter_processing_latency_seconds";
    public const string AlerterProcessingListDepth = "mutt_alerter_processing_list_depth";
    public const string AlerterQueueDepth = "mutt_alerter_queue_depth";
    public const string AlerterRegexTimeoutsTotal = "mutt_alerter_regex_timeouts_total";
    public const string AlerterShedEventsTotal = "mutt_alerter_shed_events_total";

    // auth (the Ingestor's and the Dashboard's failure limiter, meter Mutt.Auth)
    public const string AuthFailuresTotal = "mutt_auth_failures_total";

    // db
    public const string DbWriteLatencyMs = "mutt_db_write_latency_ms";

    // ingest
    public const string IngestEventsTotal = "mutt_ingest_events_total";
    public const string IngestLatencySeconds = "mutt_ingest_latency_seconds";
    public const string IngestPushFailuresTotal = "mutt_ingest_push_failures_total";
    public const string IngestQueueDepth = "mutt_ingest_queue_depth";
    public const string IngestRequestsTotal = "mutt_ingest_requests_total";
    public const string IngestUdpDropsTotal = "mutt_ingest_udp_drops_total";

    // moog
    public const string MoogAlertsProcessedTotal = "mutt_moog_alerts_processed_total";
    public const string MoogCircuitState = "mutt_moog_circuit_state";
    public const string MoogCompletionsNotCommittedTotal = "mutt_moog_completions_not_committed_total";
    public const string MoogDlqDepth = "mutt_moog_dlq_depth";
    public const string MoogProcessingListDepth = "mutt_moog_processing_list_depth";
    public const string MoogRateLimitHitsTotal = "mutt_moog_rate_limit_hits_total";
    public const string MoogRequestLatencySeconds = "mutt_moog_request_latency_seconds";
    public const string MoogRequestsTotal = "mutt_moog_requests_total";

    // remediation
    public const string RemediationDlqScanDurationSeconds = "mutt_remediation_dlq_scan_duration_seconds";
    public const string RemediationMaintenanceActionsTotal = "mutt_remediation_maintenance_actions_total";
    public const string RemediationPoisonDepth = "mutt_remediation_poison_depth";
    public const string RemediationArchiveFailuresTotal = "mutt_remediation_archive_failures_total";
    public const string RemediationArchivedRowsTotal = "mutt_remediation_archived_rows_total";
    public const string RemediationReplayedTotal = "mutt_remediation_replayed_total";

    // snmp
    public const string SnmpDecodeErrorsTotal = "mutt_snmp_decode_errors_total";
    public const string SnmpDroppedTotal = "mutt_snmp_dropped_total";
    public const string SnmpParseErrorsTotal = "mutt_snmp_parse_errors_total";
    public const string SnmpTrapsReceivedTotal = "mutt_snmp_traps_received_total";

    // syslog
    public const string SyslogBytesTotal = "mutt_syslog_bytes_total";
    public const string SyslogDroppedTotal = "mutt_syslog_dropped_total";
    public const string SyslogMessagesReceivedTotal = "mutt_syslog_messages_received_total";
    public const string SyslogParseErrorsTotal = "mutt_syslog_parse_errors_total";
    public const string SyslogTruncatedTotal = "mutt_syslog_truncated_total";

    // webui
    public const string WebuiApiLatencySeconds = "mutt_webui_api_latency_seconds";
    public const string WebuiApiRequestsTotal = "mutt_webui_api_requests_total";
    public const string WebuiDbQueryLatencyMs = "mutt_webui_db_query_latency_ms";
    public const string WebuiRedisScanLatencySeconds = "mutt_webui_redis_scan_latency_seconds";
}

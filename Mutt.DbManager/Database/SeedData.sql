-- Sample rules, development hosts and device teams (spec 002 "Sample Data"), for local runs and tests.
-- Idempotent: seeding twice leaves the same rows.
INSERT INTO alert_rules (id, match_string, trap_oid, syslog_severity, match_type, priority, prod_handling, dev_handling, team_assignment)
VALUES
    (1, 'CRITICAL', NULL, NULL, 'contains', 10, 'Page_and_ticket', 'Ticket_only', 'NETO'),
    (2, 'LINK-DOWN', NULL, NULL, 'contains', 5, 'Page_and_ticket', 'Suppress', 'NetOps'),
    (3, '%SYS-[0-3]-[A-Z_]+', NULL, NULL, 'regex', 20, 'Ticket_only', 'Log_only', 'NetOps'),
    (4, NULL, '1.3.6.1.6.3.1.1.5', NULL, 'oid_prefix', 30, 'Ticket_only', 'Log_only', 'NETO')
ON CONFLICT (id) DO NOTHING;
SELECT setval(pg_get_serial_sequence('alert_rules', 'id'), GREATEST((SELECT max(id) FROM alert_rules), 1));

INSERT INTO development_hosts (hostname, reason) VALUES
    ('dev-router-01', 'lab'), ('dev-switch-01', 'lab'), ('test-fw-01', 'staging')
ON CONFLICT (hostname) DO NOTHING;

INSERT INTO device_teams (hostname, team_assignment) VALUES
    ('core-router-01', 'NetOps'), ('core-switch-01', 'NetOps'), ('edge-fw-01', 'Security'), ('dc-server-01', 'SysOps')
ON CONFLICT (hostname) DO NOTHING;

-- Less noise, nothing hidden (issue 15): deduplication, flapping detection and maintenance windows.
-- Every suppressed event still gets its audit row; these columns say why it was not forwarded.

-- Per-rule deduplication window in seconds: NULL = the global dynamic key dedup_window_seconds,
-- 0 = never deduplicate this rule's events.
ALTER TABLE alert_rules ADD COLUMN IF NOT EXISTS dedup_window_seconds integer
    CHECK (dedup_window_seconds BETWEEN 0 AND 604800);

-- The reason details of the new decisions. Nullable without a default, so adding them to the
-- partitioned table (and every partition) is a catalogue change, not a rewrite.
--   decision_count        Deduplicated: this event's repeat number in its window (1 = the first repeat);
--                         Flapping: the transitions counted in the flapping window.
--   maintenance_window_id Suppressed_maintenance: the window that suppressed it.
--   correlation_rule_id   Flapping: the correlation rule that saw the host flap.
ALTER TABLE event_audit_log ADD COLUMN IF NOT EXISTS decision_count integer;
ALTER TABLE event_audit_log ADD COLUMN IF NOT EXISTS maintenance_window_id integer;
ALTER TABLE event_audit_log ADD COLUMN IF NOT EXISTS correlation_rule_id integer;
-- No index on handling_decision: every index costs the audit COPY on the hot path, and the audit
-- page filters a decision within a time range (idx_audit_log_timestamp).

-- Correlation rules. One type today, 'flapping': an opening event (pattern or trap OID) and a
-- closing one, counted per host and interface; threshold transitions within window_seconds make
-- the interface flapping (one Flapping alert), and window_seconds of quiet clear it.
CREATE TABLE IF NOT EXISTS correlation_rules (
    id                serial PRIMARY KEY,
    name              text NOT NULL,
    rule_type         text NOT NULL DEFAULT 'flapping' CHECK (rule_type IN ('flapping')),
    open_pattern      text,
    close_pattern     text,
    open_trap_oid     text,
    close_trap_oid    text,
    interface_pattern text,
    window_seconds    integer NOT NULL CHECK (window_seconds BETWEEN 1 AND 86400),
    threshold         integer NOT NULL CHECK (threshold BETWEEN 2 AND 10000),
    handling          text NOT NULL DEFAULT 'Page_and_ticket' CHECK (handling IN ('Page_and_ticket', 'Ticket_only', 'Email_only')),
    team_assignment   text NOT NULL,
    is_active         boolean NOT NULL DEFAULT true,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    CHECK (coalesce(open_pattern, open_trap_oid) IS NOT NULL AND coalesce(close_pattern, close_trap_oid) IS NOT NULL)
);

-- Maintenance windows: events from matching hosts (exact names or glob patterns), optionally only
-- those of one rule or one team, received between starts_at and ends_at (UTC), are audited as
-- Suppressed_maintenance and never forwarded. Ending a window early sets ends_at and ended_by;
-- rows are kept (the services' role may not DELETE them: ServiceGrants), so the audit trail's
-- maintenance_window_id always names a window that still exists.
CREATE TABLE IF NOT EXISTS maintenance_windows (
    id          serial PRIMARY KEY,
    hosts       text[] NOT NULL CHECK (cardinality(hosts) BETWEEN 1 AND 1000),
    rule_id     integer,
    team        text,
    starts_at   timestamptz NOT NULL,
    ends_at     timestamptz NOT NULL,
    reason      text NOT NULL,
    created_by  text NOT NULL,
    ended_by    text,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    CHECK (ends_at > starts_at)
);
CREATE INDEX IF NOT EXISTS idx_maintenance_windows_ends_at ON maintenance_windows (ends_at);

-- Webhook sources (issue 18): named JSON mappings for POST /api/v2/ingest/mapped/{name}, and rules
-- that match on an event's source and on the labels kept from Alertmanager, Grafana or a mapping.
-- The services' role gets its privileges from the DbManager (ServiceGrants: read-write, like the
-- other configuration tables); nothing here grants anything to anybody.

CREATE TABLE IF NOT EXISTS webhook_mappings (
    name            text PRIMARY KEY CHECK (name ~ '^[a-z0-9][a-z0-9_.-]{0,62}$'
                                            AND name NOT IN ('rest', 'syslog', 'snmp', 'alertmanager', 'grafana')),
    description     text,
    hostname_path   text NOT NULL CHECK (hostname_path <> ''),
    message_path    text NOT NULL CHECK (message_path <> ''),
    severity_path   text,
    -- source value -> syslog severity 0-7, e.g. {"Critical": 2, "Warning": 4}
    severity_map    jsonb NOT NULL DEFAULT '{}'::jsonb CHECK (jsonb_typeof(severity_map) = 'object'),
    timestamp_path  text,
    trap_oid_path   text,
    stable_key_path text,
    labels_path     text,
    is_active       boolean NOT NULL DEFAULT true,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);

-- Both optional: a rule without them matches as before. match_source is compared with the event's
-- source ignoring case; match_labels is an object of label -> value that must all be present and equal.
ALTER TABLE alert_rules ADD COLUMN IF NOT EXISTS match_source text CHECK (match_source <> '');
ALTER TABLE alert_rules ADD COLUMN IF NOT EXISTS match_labels jsonb CHECK (match_labels IS NULL OR jsonb_typeof(match_labels) = 'object');

-- Mapped JSON sources can clear what they raised (issue 18's gap): the item's status at status_path
-- is "resolved" when it equals one of resolved_values (ignoring case), else "firing". A resolved
-- event becomes a Moogsoft clear under the signature of its stable key, as Alertmanager's do.
ALTER TABLE webhook_mappings ADD COLUMN IF NOT EXISTS status_path text CHECK (status_path <> '');
ALTER TABLE webhook_mappings ADD COLUMN IF NOT EXISTS resolved_values jsonb NOT NULL DEFAULT '[]'::jsonb
    CHECK (jsonb_typeof(resolved_values) = 'array');

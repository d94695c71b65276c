-- Issue 17: operators with names. Accounts and named API keys, so that every config_audit_log row
-- names a person or a key instead of "webui" or one shared key.

-- Operator accounts. password_hash is ASP.NET Core's PasswordHasher format (PBKDF2, salted, with
-- its own version byte); NULL for an account that signs in only through OpenID Connect. Accounts
-- are deactivated, never deleted: the audit trail keeps meaning who did what.
CREATE TABLE IF NOT EXISTS operators (
    id              serial PRIMARY KEY,
    username        text NOT NULL UNIQUE CHECK (username ~ '^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$'),
    password_hash   text,
    role            text NOT NULL CHECK (role IN ('viewer', 'operator', 'admin')),
    is_active       boolean NOT NULL DEFAULT true,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    last_sign_in_at timestamptz
);

-- Named API keys. The secret (mutt_<prefix>_<random>) is shown once at creation; only its SHA-256
-- is kept (a 256-bit random secret needs no slow hash). key_prefix is public: it finds the row,
-- and the hash is then compared in constant time. Revoked keys stay (revoked_at/revoked_by) so
-- their names stay unique and the audit rows that name them stay unambiguous.
CREATE TABLE IF NOT EXISTS api_keys (
    id           serial PRIMARY KEY,
    name         text NOT NULL UNIQUE CHECK (name ~ '^[a-z0-9][a-z0-9._-]{0,62}$'),
    key_prefix   text NOT NULL UNIQUE CHECK (key_prefix ~ '^[a-z0-9]{8}$'),
    key_hash     bytea NOT NULL CHECK (length(key_hash) = 32),
    role         text NOT NULL CHECK (role IN ('ingest', 'viewer', 'operator', 'admin')),
    created_by   text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_used_at timestamptz,
    revoked_at   timestamptz,
    revoked_by   text
);
-- The Ingestor and the Dashboard reload the active keys every few seconds.
CREATE INDEX IF NOT EXISTS idx_api_keys_active ON api_keys (role) WHERE revoked_at IS NULL;

-- Sign-in, sign-out, failed sign-in and key revocation are audited beside the configuration changes.
ALTER TABLE config_audit_log DROP CONSTRAINT IF EXISTS config_audit_log_operation_check;
ALTER TABLE config_audit_log ADD CONSTRAINT config_audit_log_operation_check
    CHECK (operation IN ('CREATE', 'UPDATE', 'DELETE', 'REVOKE', 'SIGN_IN', 'SIGN_OUT', 'SIGN_IN_FAILED'));

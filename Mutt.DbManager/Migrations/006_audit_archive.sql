-- The 7-year audit archive (spec 004: 90 days active, 7 years archive). Mutt.Remediation exports
-- an expired partition to AUDIT_ARCHIVE_DIR with its own SELECT privilege, verifies the file, and
-- only then drops the partition through drop_archived_partition below. The service role may not
-- drop tables or delete audit rows, so the two functions here run as their owner (SECURITY
-- DEFINER), hardened like migration 002's: fixed search_path with pg_temp last, partitions found
-- by their parent's OID, STRICT, arguments checked, EXECUTE revoked from PUBLIC.
--
-- Both take the number of rows the caller archived and refuse unless the table holds exactly that
-- many, counted under a lock that keeps inserts out until the commit: a late audit row (an old
-- event replayed from a DLQ) that arrived after the export can therefore never be dropped unseen.
-- The next run archives the partition again, with that row.

-- Drops one expired monthly partition whose rows were archived.
-- Returns false when the partition no longer exists (another run dropped it).
CREATE OR REPLACE FUNCTION drop_archived_partition(partition_name text, retention_months integer, archived_rows bigint) RETURNS boolean
LANGUAGE plpgsql STRICT SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
    cutoff date;
    rel    regclass;
    actual bigint;
BEGIN
    IF retention_months < 0 THEN
        RAISE EXCEPTION 'retention_months must be 0 or more, not %', retention_months USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF partition_name !~ '^event_audit_log_\d{4}_\d{2}$' THEN
        RAISE EXCEPTION '% is not a monthly audit partition name', partition_name USING ERRCODE = 'invalid_parameter_value';
    END IF;
    cutoff := (date_trunc('month', now()) - make_interval(months => retention_months))::date;
    IF to_date(substring(partition_name from '\d{4}_\d{2}$'), 'YYYY_MM') >= cutoff THEN
        RAISE EXCEPTION '% is not older than % months', partition_name, retention_months USING ERRCODE = 'invalid_parameter_value';
    END IF;
    -- The parent first, as inserts lock it (parent, then partition): no deadlock with the Alerter,
    -- and DROP needs this lock on the parent anyway. Inserts wait for the count and the drop.
    LOCK TABLE public.event_audit_log IN ACCESS EXCLUSIVE MODE;
    SELECT child.oid::regclass INTO rel
    FROM pg_inherits JOIN pg_class child ON pg_inherits.inhrelid = child.oid
    WHERE pg_inherits.inhparent = 'public.event_audit_log'::regclass AND child.relname = partition_name;
    IF rel IS NULL THEN
        RETURN false;
    END IF;
    EXECUTE format('SELECT count(*) FROM %s', rel) INTO actual;
    IF actual <> archived_rows THEN
        RAISE EXCEPTION '% holds % rows but % were archived; not dropped', partition_name, actual, archived_rows
            USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    EXECUTE format('DROP TABLE %s', rel);
    RETURN true;
END;
$$;

-- Rows in the default partition that no monthly partition can hold: +/-infinity (what a .NET
-- DateTime.MinValue/MaxValue becomes) and years outside 1..9999 (partition names are YYYY_MM).
-- Every other row there gets its month's partition from create_monthly_partition, which moves it.
CREATE OR REPLACE FUNCTION audit_row_unpartitionable(ts timestamptz) RETURNS boolean
LANGUAGE sql IMMUTABLE STRICT SET search_path = pg_catalog AS $$
    SELECT NOT isfinite(ts) OR ts < '0001-01-01 00:00:00+00'::timestamptz OR ts >= '10000-01-01 00:00:00+00'::timestamptz
$$;

-- Deletes the default partition's unpartitionable rows once they were archived.
CREATE OR REPLACE FUNCTION purge_archived_default_rows(archived_rows bigint) RETURNS bigint
LANGUAGE plpgsql STRICT SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
    actual  bigint;
    deleted bigint;
BEGIN
    LOCK TABLE public.event_audit_log IN ACCESS EXCLUSIVE MODE;
    SELECT count(*) INTO actual FROM public.event_audit_log_default WHERE public.audit_row_unpartitionable(event_timestamp);
    IF actual <> archived_rows THEN
        RAISE EXCEPTION 'the default partition holds % unpartitionable rows but % were archived; none deleted', actual, archived_rows
            USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    DELETE FROM public.event_audit_log_default WHERE public.audit_row_unpartitionable(event_timestamp);
    GET DIAGNOSTICS deleted = ROW_COUNT;
    RETURN deleted;
END;
$$;

REVOKE ALL ON FUNCTION drop_archived_partition(text, integer, bigint) FROM PUBLIC;
REVOKE ALL ON FUNCTION purge_archived_default_rows(bigint) FROM PUBLIC;

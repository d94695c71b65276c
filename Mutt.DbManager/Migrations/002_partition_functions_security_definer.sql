-- The services connect as a least-privilege role (Mutt.DbManager, docs/database.md) that may not
-- create or drop tables, yet Mutt.Remediation keeps the audit partitions: it creates next months'
-- and drops expired ones. Both functions therefore run with the rights of their owner, the role
-- that applies the migrations (SECURITY DEFINER; CREATE OR REPLACE keeps the owner).
-- Running as the owner on a caller's behalf is safe only if the caller cannot steer the function:
--   * search_path is fixed, with pg_temp last, so a caller's temporary table or function named
--     like one of ours is never picked up; every object is named with its schema anyway;
--   * partitions are found by their parent's OID, not by a name a caller could imitate;
--   * arguments are checked (STRICT: NULL in, NULL out; a negative retention would drop the
--     current and future partitions);
--   * EXECUTE is revoked from PUBLIC: only roles granted it (the services' role) may call them.
-- Behaviour for callers is unchanged: same names, same arguments, same results.

CREATE OR REPLACE FUNCTION create_monthly_partition(start_date date) RETURNS text
LANGUAGE plpgsql STRICT SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
    month_start date := date_trunc('month', start_date)::date;
    month_end   date := (date_trunc('month', start_date) + interval '1 month')::date;
    part_name   text := format('event_audit_log_%s', to_char(month_start, 'YYYY_MM'));
BEGIN
    IF to_regclass(format('public.%I', part_name)) IS NOT NULL THEN
        RETURN part_name;
    END IF;
    -- Rows already parked in the default partition for that month move into the new one,
    -- because PostgreSQL refuses to attach a range the default partition already holds.
    EXECUTE 'CREATE TEMP TABLE IF NOT EXISTS _mutt_parked (LIKE public.event_audit_log) ON COMMIT DROP';
    EXECUTE format('WITH moved AS (DELETE FROM public.event_audit_log_default WHERE event_timestamp >= %L AND event_timestamp < %L RETURNING *) '
                   'INSERT INTO pg_temp._mutt_parked SELECT * FROM moved', month_start, month_end);
    EXECUTE format('CREATE TABLE public.%I PARTITION OF public.event_audit_log FOR VALUES FROM (%L) TO (%L)', part_name, month_start, month_end);
    EXECUTE 'INSERT INTO public.event_audit_log SELECT * FROM pg_temp._mutt_parked';
    EXECUTE 'DROP TABLE pg_temp._mutt_parked';
    RETURN part_name;
END;
$$;

CREATE OR REPLACE FUNCTION drop_old_partitions(retention_months integer) RETURNS SETOF text
LANGUAGE plpgsql STRICT SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
    cutoff date;
    part   record;
BEGIN
    IF retention_months < 0 THEN
        RAISE EXCEPTION 'retention_months must be 0 or more, not %', retention_months USING ERRCODE = 'invalid_parameter_value';
    END IF;
    cutoff := (date_trunc('month', now()) - make_interval(months => retention_months))::date;
    FOR part IN
        SELECT child.oid::regclass AS rel, child.relname AS name
        FROM pg_inherits
        JOIN pg_class child ON pg_inherits.inhrelid = child.oid
        WHERE pg_inherits.inhparent = 'public.event_audit_log'::regclass
          AND child.relname ~ '^event_audit_log_\d{4}_\d{2}$'
        ORDER BY child.relname
    LOOP
        IF to_date(substring(part.name from '\d{4}_\d{2}$'), 'YYYY_MM') < cutoff THEN
            EXECUTE format('DROP TABLE %s', part.rel);
            RETURN NEXT part.name;
        END IF;
    END LOOP;
END;
$$;

REVOKE ALL ON FUNCTION create_monthly_partition(date) FROM PUBLIC;
REVOKE ALL ON FUNCTION drop_old_partitions(integer) FROM PUBLIC;

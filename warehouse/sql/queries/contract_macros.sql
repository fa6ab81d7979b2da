-- The contract's value rules (norrut/contract.py) as SQL macros for this connection.
-- Patterns are written out as literals, not bound: DuckDB compiles a literal pattern once but
-- a bound one for every row (measured 16x slower). tests/test_pii.py checks that every pattern
-- here is exactly the one in norrut/contract.py.
create or replace temp macro norrut_is_email(value) as
    regexp_matches(value, '[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}');

create or replace temp macro norrut_is_phone(value) as
    regexp_matches(value, '^\s*(\+|00)[1-9][0-9 ()./-]{6,18}[0-9]\s*$|^\s*0[1-9][0-9 ()./-]{5,14}[0-9]\s*$');

create or replace temp macro norrut_is_ip_address(value) as
    regexp_matches(value, '^\s*(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])(\.(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])){3}\s*$')
    or regexp_matches(value, '^\s*(([0-9A-Fa-f]{1,4}:){7}[0-9A-Fa-f]{1,4}|([0-9A-Fa-f]{1,4}:){0,6}[0-9A-Fa-f]{0,4}::([0-9A-Fa-f]{1,4}:){0,6}[0-9A-Fa-f]{0,4})\s*$');

-- One pass over all of a row's values joined by newlines: true when any value may be personal.
-- Multi-line mode makes ^ and $ match at each value's edges; a hit is then confirmed per value.
create or replace temp macro norrut_may_hold_pii(joined_values) as
    regexp_matches(joined_values, '(?m)[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}|^\s*(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])(\.(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])){3}\s*$|^\s*(([0-9A-Fa-f]{1,4}:){7}[0-9A-Fa-f]{1,4}|([0-9A-Fa-f]{1,4}:){0,6}[0-9A-Fa-f]{0,4}::([0-9A-Fa-f]{1,4}:){0,6}[0-9A-Fa-f]{0,4})\s*$|^\s*(\+|00)[1-9][0-9 ()./-]{6,18}[0-9]\s*$|^\s*0[1-9][0-9 ()./-]{5,14}[0-9]\s*$');

create or replace temp macro norrut_is_person_id(value) as
    regexp_matches(value, '^[A-Za-z0-9_.:-]{8,128}$');

-- The one stored form of a pseudonym (norrut.contract.canonical_person_id): a UUID, as every
-- mobile advertising id is, lower-cased whatever its id_type; anything else as given.
create or replace temp macro norrut_canonical_person_id(value) as
    case
        when regexp_matches(value, '^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$')
            then lower(value)
        else value
    end;

-- For the direct load (direct_events.sql), on one value: true when it may be personal, or would
-- be changed by the trimming and empty-to-null that validate_events.sql applies (a leading or
-- trailing blank, or nothing at all). Such a file is loaded through the line-checked path
-- instead, so values stored by either path are the same. Multi-line mode makes ^ and $ match at
-- each line of a value that has several, which is only ever stricter. NULL for NULL.
create or replace temp macro norrut_may_hold_pii_or_untrimmed(value) as
    regexp_matches(value, '(?m)^\s|\s$|^$|[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}|^\s*(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])(\.(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])){3}\s*$|^\s*(([0-9A-Fa-f]{1,4}:){7}[0-9A-Fa-f]{1,4}|([0-9A-Fa-f]{1,4}:){0,6}[0-9A-Fa-f]{0,4}::([0-9A-Fa-f]{1,4}:){0,6}[0-9A-Fa-f]{0,4})\s*$|^\s*(\+|00)[1-9][0-9 ()./-]{6,18}[0-9]\s*$|^\s*0[1-9][0-9 ()./-]{5,14}[0-9]\s*$');

-- Value parsing shared by the line-checked (validate_events.sql) and direct (direct_events.sql)
-- loads, so both store the same value from the same text.
-- occurred_at: integer epoch milliseconds, or ISO 8601 with an offset or Z; the session time
-- zone is UTC, so the result is UTC. NULL when it is neither.
create or replace temp macro norrut_occurred_at(text) as
    case
        when regexp_full_match(text, '-?[0-9]{1,16}') then epoch_ms(cast(text as bigint))
        else cast(try_cast(text as timestamptz) as timestamp)
    end;

-- consent: true/false or 1/0 in any case; NULL for anything else.
create or replace temp macro norrut_consent(text) as
    case lower(text)
        when 'true' then true
        when '1' then true
        when 'false' then false
        when '0' then false
    end;

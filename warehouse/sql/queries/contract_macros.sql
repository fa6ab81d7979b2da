-- The contract's value rules (core/contract.py) as SQL macros for this connection.
-- Patterns are written out as literals, not bound: DuckDB compiles a literal pattern once but
-- a bound one for every row (measured 16x slower). tests/data/test_pii.py checks that every pattern
-- here, and the look-alike table, is exactly the one in core/contract.py.

-- Look-alike characters folded before matching, as core.contract.fold_lookalikes does, with
-- its table written out: the first class lists every character of it; invisible ones are
-- dropped, spaces become ' ', and translate() maps each of the others to its ASCII character
-- (invisible characters and spaces are named by code point, not written out). translate()
-- rebuilds its table on every call, so only a value holding one of them is folded.
create or replace temp macro norrut_folded(value) as
    case
        when regexp_matches(value, '[\x{A0}\x{AD}\x{B2}-\x{B3}\x{B9}\x{660}-\x{669}\x{6F0}-\x{6F9}\x{1680}\x{180E}\x{2000}-\x{2015}\x{2024}\x{2028}-\x{202F}\x{205F}-\x{2064}\x{2066}-\x{2069}\x{2070}\x{2074}-\x{207A}\x{207D}-\x{207E}\x{2080}-\x{208A}\x{208D}-\x{208E}\x{2212}\x{2460}-\x{2468}\x{24EA}\x{2E3A}-\x{2E3B}\x{3000}\x{3002}\x{FE12}\x{FE52}\x{FE55}\x{FE58}-\x{FE5A}\x{FE62}-\x{FE63}\x{FE6B}\x{FEFF}\x{FF01}-\x{FF5E}\x{FF61}\x{1D7CE}-\x{1D7FF}]')
            then translate(
                regexp_replace(regexp_replace(value, '[\x{AD}\x{180E}\x{200B}-\x{200F}\x{202A}-\x{202E}\x{2060}-\x{2064}\x{2066}-\x{2069}\x{FEFF}]', '', 'g'), '[\x{A0}\x{1680}\x{2000}-\x{200A}\x{2028}-\x{2029}\x{202F}\x{205F}\x{3000}]', ' ', 'g'),
                '！＂＃＄％＆＇（）＊＋，－．／０１２３４５６７８９：；＜＝＞？＠ＡＢＣＤＥＦＧＨＩＪＫＬＭＮＯＰＱＲＳＴＵＶＷＸＹＺ［＼］＾＿｀ａｂｃｄｅｆｇｈｉｊｋｌｍｎｏｐｑｒｓｔｕｖｗｘｙｚ｛｜｝～²³¹․⁰⁴⁵⁶⁷⁸⁹⁺⁽⁾₀₁₂₃₄₅₆₇₈₉₊₍₎①②③④⑤⑥⑦⑧⑨⓪﹒﹕﹙﹚﹢﹣﹫𝟎𝟏𝟐𝟑𝟒𝟓𝟔𝟕𝟖𝟗𝟘𝟙𝟚𝟛𝟜𝟝𝟞𝟟𝟠𝟡𝟢𝟣𝟤𝟥𝟦𝟧𝟨𝟩𝟪𝟫𝟬𝟭𝟮𝟯𝟰𝟱𝟲𝟳𝟴𝟵𝟶𝟷𝟸𝟹𝟺𝟻𝟼𝟽𝟾𝟿٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹‐‑‒–—―−⸺⸻﹘。︒｡',
                '!"#$%&''()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\]^_`abcdefghijklmnopqrstuvwxyz{|}~231.0456789+()0123456789+()1234567890.:()+-@0123456789012345678901234567890123456789012345678901234567890123456789----------...')
        else value
    end;

create or replace temp macro norrut_is_email(value) as
    regexp_matches(norrut_folded(value), '(?:[A-Za-z0-9._%+-]|[^\x00-\x7f])+ *(?:@|[(\[{<] *[Aa][Tt] *[)\]}>]) *(?:[A-Za-z0-9-]|[^\x00-\x7f])+(?:(?:\.| *[(\[{<] *[Dd][Oo][Tt] *[)\]}>] *)(?:[A-Za-z0-9-]|[^\x00-\x7f])+)*(?:\.| *[(\[{<] *[Dd][Oo][Tt] *[)\]}>] *)(?:[A-Za-z]|[^\x00-\x7f]){2,}');

create or replace temp macro norrut_is_phone(value) as
    regexp_matches(norrut_folded(value), '(?:^|[^0-9A-Za-z_.-]|\\[nrt])(?:(?:\+|00)[1-9](?:[ ./()-]{0,2}[0-9]){6,13}|0[1-9](?:[ ./()-]{0,2}[0-9]){5,11}|46[ ./-]{0,2}7(?:[ ./()-]{0,2}[0-9]){8})(?:$|[^0-9A-Za-z_-])');

create or replace temp macro norrut_is_ip_address(value) as
    regexp_matches(norrut_folded(value), '(?:^|[^0-9A-Za-z_.]|\\[nrt])(?:25[0-5]|2[0-4][0-9]|[01]?[0-9]?[0-9])(?:\.(?:25[0-5]|2[0-4][0-9]|[01]?[0-9]?[0-9])){3}(?:$|[^0-9A-Za-z_])|(?:^|[^0-9A-Za-z_.:]|\\[nrt])(?:(?:[0-9A-Fa-f]{1,4}:){7}[0-9A-Fa-f]{1,4}|(?:[0-9A-Fa-f]{1,4}:){0,6}[0-9A-Fa-f]{0,4}::(?:[0-9A-Fa-f]{1,4}:){0,6}[0-9A-Fa-f]{0,4})(?:$|[^0-9A-Za-z_.:])');

-- One pass over all of a row's values joined by newlines: true when any value may be personal
-- or holds a look-alike character; a hit is then confirmed per value, folded. Multi-line mode
-- makes ^ and $ match at each value's edges.
create or replace temp macro norrut_may_hold_pii(joined_values) as
    regexp_matches(joined_values, '(?m)(?:[A-Za-z0-9._%+-]|[^\x00-\x7f])+ *(?:@|[(\[{<] *[Aa][Tt] *[)\]}>]) *(?:[A-Za-z0-9-]|[^\x00-\x7f])+(?:(?:\.| *[(\[{<] *[Dd][Oo][Tt] *[)\]}>] *)(?:[A-Za-z0-9-]|[^\x00-\x7f])+)*(?:\.| *[(\[{<] *[Dd][Oo][Tt] *[)\]}>] *)(?:[A-Za-z]|[^\x00-\x7f]){2,}|(?:^|[^0-9A-Za-z_.-]|\\[nrt])(?:(?:\+|00)[1-9](?:[ ./()-]{0,2}[0-9]){6,13}|0[1-9](?:[ ./()-]{0,2}[0-9]){5,11}|46[ ./-]{0,2}7(?:[ ./()-]{0,2}[0-9]){8})(?:$|[^0-9A-Za-z_-])|(?:^|[^0-9A-Za-z_.]|\\[nrt])(?:25[0-5]|2[0-4][0-9]|[01]?[0-9]?[0-9])(?:\.(?:25[0-5]|2[0-4][0-9]|[01]?[0-9]?[0-9])){3}(?:$|[^0-9A-Za-z_])|(?:^|[^0-9A-Za-z_.:]|\\[nrt])(?:(?:[0-9A-Fa-f]{1,4}:){7}[0-9A-Fa-f]{1,4}|(?:[0-9A-Fa-f]{1,4}:){0,6}[0-9A-Fa-f]{0,4}::(?:[0-9A-Fa-f]{1,4}:){0,6}[0-9A-Fa-f]{0,4})(?:$|[^0-9A-Za-z_.:])|[\x{A0}\x{AD}\x{B2}-\x{B3}\x{B9}\x{660}-\x{669}\x{6F0}-\x{6F9}\x{1680}\x{180E}\x{2000}-\x{2015}\x{2024}\x{2028}-\x{202F}\x{205F}-\x{2064}\x{2066}-\x{2069}\x{2070}\x{2074}-\x{207A}\x{207D}-\x{207E}\x{2080}-\x{208A}\x{208D}-\x{208E}\x{2212}\x{2460}-\x{2468}\x{24EA}\x{2E3A}-\x{2E3B}\x{3000}\x{3002}\x{FE12}\x{FE52}\x{FE55}\x{FE58}-\x{FE5A}\x{FE62}-\x{FE63}\x{FE6B}\x{FEFF}\x{FF01}-\x{FF5E}\x{FF61}\x{1D7CE}-\x{1D7FF}]');

create or replace temp macro norrut_is_person_id(value) as
    regexp_matches(value, '^[A-Za-z0-9_.:-]{8,128}$');

-- The one stored form of a pseudonym (core.contract.canonical_person_id): a UUID, as every
-- mobile advertising id is, lower-cased whatever its id_type; anything else as given.
create or replace temp macro norrut_canonical_person_id(value) as
    case
        -- already in lower case (every stored MAID): lower() would not change it, and the test
        -- costs a third of the pattern's
        when value = lower(value) then value
        when regexp_matches(value, '^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$')
            then lower(value)
        else value
    end;

-- For check_events.sql's screen, on a row's values joined by newlines: true when some value may
-- be personal, or would be changed by the trimming and empty-to-null of the full check (a
-- leading or trailing blank, or nothing at all), or holds a look-alike character (folded only
-- there). Such a row takes the full check, so a row that skips it is stored exactly as the full
-- check would store it. One pattern, so one regexp call per row. Multi-line mode makes ^ and $
-- match at each value's edges (and at each line of a value that has several, which is only ever
-- stricter). NULL for NULL.
create or replace temp macro norrut_may_hold_pii_or_untrimmed(value) as
    regexp_matches(value, '(?m)^\s|\s$|^$|(?:[A-Za-z0-9._%+-]|[^\x00-\x7f])+ *(?:@|[(\[{<] *[Aa][Tt] *[)\]}>]) *(?:[A-Za-z0-9-]|[^\x00-\x7f])+(?:(?:\.| *[(\[{<] *[Dd][Oo][Tt] *[)\]}>] *)(?:[A-Za-z0-9-]|[^\x00-\x7f])+)*(?:\.| *[(\[{<] *[Dd][Oo][Tt] *[)\]}>] *)(?:[A-Za-z]|[^\x00-\x7f]){2,}|(?:^|[^0-9A-Za-z_.-]|\\[nrt])(?:(?:\+|00)[1-9](?:[ ./()-]{0,2}[0-9]){6,13}|0[1-9](?:[ ./()-]{0,2}[0-9]){5,11}|46[ ./-]{0,2}7(?:[ ./()-]{0,2}[0-9]){8})(?:$|[^0-9A-Za-z_-])|(?:^|[^0-9A-Za-z_.]|\\[nrt])(?:25[0-5]|2[0-4][0-9]|[01]?[0-9]?[0-9])(?:\.(?:25[0-5]|2[0-4][0-9]|[01]?[0-9]?[0-9])){3}(?:$|[^0-9A-Za-z_])|(?:^|[^0-9A-Za-z_.:]|\\[nrt])(?:(?:[0-9A-Fa-f]{1,4}:){7}[0-9A-Fa-f]{1,4}|(?:[0-9A-Fa-f]{1,4}:){0,6}[0-9A-Fa-f]{0,4}::(?:[0-9A-Fa-f]{1,4}:){0,6}[0-9A-Fa-f]{0,4})(?:$|[^0-9A-Za-z_.:])|[\x{A0}\x{AD}\x{B2}-\x{B3}\x{B9}\x{660}-\x{669}\x{6F0}-\x{6F9}\x{1680}\x{180E}\x{2000}-\x{2015}\x{2024}\x{2028}-\x{202F}\x{205F}-\x{2064}\x{2066}-\x{2069}\x{2070}\x{2074}-\x{207A}\x{207D}-\x{207E}\x{2080}-\x{208A}\x{208D}-\x{208E}\x{2212}\x{2460}-\x{2468}\x{24EA}\x{2E3A}-\x{2E3B}\x{3000}\x{3002}\x{FE12}\x{FE52}\x{FE55}\x{FE58}-\x{FE5A}\x{FE62}-\x{FE63}\x{FE6B}\x{FEFF}\x{FF01}-\x{FF5E}\x{FF61}\x{1D7CE}-\x{1D7FF}]');

-- Value parsing shared by ingestion (check_events.sql) and opt-outs (validate_optouts.sql), so all store the same value from the same text.
-- occurred_at: integer epoch milliseconds, or ISO 8601 with Z or an offset of at most ±18:00,
-- extended (2026-10-20T12:00:00+02:00) or basic (20261020T120000Z), seconds required; the result
-- is UTC. NULL for anything else, never an error, so one bad value stays one bad row: an epoch
-- beyond year 9999 (epoch_ms would overflow), no offset, a named zone, 'epoch', 'infinity'.
-- Only text that names its offset reaches DuckDB's cast: the cast reads an offset-less value in
-- the zone of the last named zone it met in the same vector (DuckDB 1.5, ICU), so letting either
-- through made one row change how the rows after it were read. A leap second (:60) is read as
-- 59.999999 s, so the event keeps its minute and day. The first branch is the everyday form.
-- The instant is taken in UTC as make_timestamp(epoch_us(...)), not cast(... as timestamp): the
-- cast converts through ICU into the session's time zone, which cost a third of this macro's
-- time (bench/ingest_stages.py) and would shift every event in a session not set to UTC.
create or replace temp macro norrut_occurred_at(text) as
    case
        when regexp_full_match(text, '-?[0-9]{1,16}')
            then case when abs(cast(text as bigint)) < 253402300800000
                then epoch_ms(cast(text as bigint)) end
        when regexp_full_match(text, '[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])[T ]([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]+)?(Z|[+-](0[0-9]|1[0-7])(:?[0-5][0-9])?|[+-]18(:?00)?)')
            then make_timestamp(epoch_us(try_cast(text as timestamptz)))
        when regexp_full_match(text, '[0-9]{4}-?(0[1-9]|1[0-2])-?(0[1-9]|[12][0-9]|3[01])[Tt ]([01][0-9]|2[0-3]):?[0-5][0-9]:?([0-5][0-9]|60)([.,][0-9]+)?([Zz]|[+-](0[0-9]|1[0-7])(:?[0-5][0-9])?|[+-]18(:?00)?)')
            -- basic format, leap second, lower-case t or z, decimal comma: rewritten into the
            -- first branch's form
            then make_timestamp(epoch_us(try_cast(regexp_replace(regexp_replace(
                upper(replace(text, ',', '.')),
                '^([0-9]{4})-?([0-9]{2})-?([0-9]{2})[T ]([0-9]{2}):?([0-9]{2}):?([0-9]{2})',
                '\1-\2-\3T\4:\5:\6'),
                ':60(\.[0-9]+)?', ':59.999999') as timestamptz)))
    end;

-- consent: true/false or 1/0 in any case; NULL for anything else.
create or replace temp macro norrut_consent(text) as
    case lower(text)
        when 'true' then true
        when '1' then true
        when 'false' then false
        when '0' then false
    end;

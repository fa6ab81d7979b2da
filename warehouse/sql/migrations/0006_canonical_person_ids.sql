-- Schema v6: raw.events holds every person_id in its canonical form
-- (norrut_canonical_person_id, from queries/contract_macros.sql, which the migration runs
-- first): a MAID is a UUID and case-insensitive, so `FB46F81C-...` and `fb46f81c-...` are one
-- person. Older loads stored ids as given.
-- The persons whose id changes are noted first (temp table migration_recased_persons), so
-- the migration's next step removes their rows from the derived person tables, to be rebuilt.
create or replace temp table migration_recased_persons as
select distinct norrut_canonical_person_id(person_id) as person_id
from raw.events
where person_id <> norrut_canonical_person_id(person_id);

-- An event that the opt-out of the person's canonical id would have dropped at load, had it
-- been matched in canonical form, goes now rather than be stored under the erased id.
delete from raw.events
where person_id <> norrut_canonical_person_id(person_id)
    and sha256(norrut_canonical_person_id(person_id)) in (
        select person_key from raw.suppressed_persons);

update raw.events
set person_id = norrut_canonical_person_id(person_id)
where person_id <> norrut_canonical_person_id(person_id);

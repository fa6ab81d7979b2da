-- grain: one row per warehouse table that holds data about a person
-- key: table_name
-- Erasure (contract §3) deletes from every table listed here; a test fails if a table with a
-- person_id column is missing from this list.
create table meta.person_tables (
    table_name varchar primary key,
    person_column varchar not null,
    description varchar not null
);

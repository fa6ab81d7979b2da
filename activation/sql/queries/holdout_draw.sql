-- grain: one row per person of the registered relation `audience`
-- key: person_id
-- The first 60 bits of SHA-256(segment|as_of|person_id) as a number in [0, 1). SHA-256 is stable
-- across versions of every tool, so anyone can recompute who was held out.
with final as (
    select
        person_id,
        ('0x' || substr(sha256($segment || '|' || $as_of || '|' || person_id), 1, 15))::ubigint
            / 1152921504606846976.0 as draw
    from audience
)

select * from final;

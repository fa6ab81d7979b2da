-- grain: rows of one segment and as-of date
-- key: (segment_name, as_of_date)
delete from marts.segment_holdouts where segment_name = $segment and as_of_date = $as_of;

-- grain: rows of one as-of date and model version
-- key: (as_of_date, model_name, model_version)
delete from marts.person_scores
where as_of_date = $as_of and model_name = $model_name and model_version = $model_version;

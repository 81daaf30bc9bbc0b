-- Searches by a common code (issue #15: `Patient?gender=female&_summary=count`, half of a million
-- patients): PostgreSQL multiplied the selectivities of `type`, `param` and `code` as if they
-- were independent, and the `code` column also holds a million distinct identifier blind
-- indexes, so it estimated `gender = female` at 75,000 rows rather than 500,000 and chose a plan
-- for the smaller number. Statistics over the three columns together (their most common
-- combinations and dependencies) give it the true frequency of each (type, param, code).
CREATE STATISTICS search_token_combinations (mcv, dependencies) ON type, param, code FROM search_token;
ANALYZE search_token;

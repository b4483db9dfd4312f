-- signature_rules: one row per event signature and rule that matches it (grain: sig, rule_id): a
-- rule matches when every key it tests matches (signature_keys, the one matcher), for the stage
-- rules and the journey map's feedback and pain rules alike.
select sig, rule_id
from signature_keys
group by sig, rule_id
having bool_and(matched)

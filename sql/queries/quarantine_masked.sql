-- quarantine (as exported): the quarantine with phone numbers and e-mail addresses in the quoted
-- raw text replaced by <phone> / <email>, so exported files carry no contact data in clear
-- (output.pii: clear exports the table as it is; the warehouse table always keeps the raw text).
select * replace (
    regexp_replace(
        regexp_replace(
            regexp_replace(raw_text, '[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}', '<email>', 'g'),
            '\+\d[\d \-()]{8,16}\d', '<phone>', 'g'),
        '\b[78] ?\(?\d{3}\)?[ -]?\d{3}[ -]?\d{2}[ -]?\d{2}\b', '<phone>', 'g') as raw_text
)
from quarantine

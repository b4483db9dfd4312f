"""Personal data in the warehouse: phones and e-mails in clear, or as salted hashes.

``identity.pii: clear`` (the default) keeps phones and e-mails as loaded; exported files
still mask the ones quoted from input rows unless ``output.pii: clear``.

``identity.pii: hash`` keeps no phone or e-mail in clear anywhere in the warehouse:

* at ingest every phone and e-mail identifier is normalised first (E.164 with
  ``phonenumbers``, e-mails trimmed and lower-cased) and then replaced by
  ``sha256:`` + HMAC-SHA256(salt, value) in hex. The same number spelt three ways gives
  one hash, in every source and every run, so stitching works as before;
* the salt comes from an environment variable (``identity.pii_salt_env``, default
  ``CJM_PII_SALT``), never from the config file; a run without it fails. Changing the salt
  changes every hash (and so every customer id): keep it with the warehouse's backups;
* values on the identity blocklist (placeholders such as ``test@test.ru``, the company's own
  numbers) are no one's personal data: they stay in clear so the blocklist keeps matching
  them and ``cjm customer`` can show why they join nobody;
* the raw spelling of a hashed identifier is not kept (its ``raw`` is the hash);
* every other text the warehouse keeps is scanned with one recogniser (:func:`contact_spans`:
  e-mail addresses, Cyrillic ones and ``%40`` in URLs included, and every phone spelling the
  ingest reads as a number): in keys that must stay distinct (a given ``event_id``, the
  ``customer_id``/``user_id``/... cells, identifiers of other types) each phone or e-mail becomes
  its salted hash; in everything else (properties, URLs, free text, times, the raw text and reason
  of unreadable rows) it becomes ``<phone>``/``<email>``;
* the columns of ``identity.pii_columns`` (a name, an address: personal data no pattern can
  recognise) are replaced by the salted hash of their whole value.

Exports use the same recogniser: :func:`mask_text` masks the quarantine's raw text and reason
unless ``output.pii: clear``.

A warehouse holds one kind: switching between ``clear`` and ``hash`` needs
``cjm run --full-refresh`` (the run says so rather than mixing both).
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import os
import re
from dataclasses import dataclass

import phonenumbers

from .errors import CjmError

#: Identifier types that are personal data.
PII_TYPES = ("phone", "email")
HASH_PREFIX = "sha256:"

#: An e-mail address: Unicode letters allowed (``иван@почта.рф``), ``%40`` for ``@`` in URLs.
_EMAIL = re.compile(r"[\w.%+\-]+(?:@|%40)[\w\-]+(?:\.[\w\-]+)*\.[^\W\d_]{2,}")
#: A run of digits and separators that may hold phone numbers (checked with phonenumbers).
_PHONE_RUN = re.compile(r"(?<!\w)(?:\+|%2[Bb])?\(?\d(?:(?:[ \t\u00a0\-()]|%20)*\d){6,}\)?(?!\w)")
MASKS = {"email": "<email>", "phone": "<phone>"}


def _is_phone(text: str, region: str) -> bool:
    text = re.sub(r"%2[Bb]", "+", text).replace("%20", " ")
    digits = re.sub(r"\D", "", text)
    if not 7 <= len(digits) <= 17:  # E.164 has at most 15 digits, plus a trunk or 00 prefix
        return False
    if digits.startswith("00") and not text.lstrip("( ").startswith("+"):
        text = "+" + digits[2:]
    try:
        return phonenumbers.is_valid_number(phonenumbers.parse(text, region))
    except phonenumbers.NumberParseException:
        return False


@functools.lru_cache(maxsize=1 << 15)
def _phones_in(run: str, region: str) -> tuple[tuple[int, int], ...]:
    """Spans of the valid phone numbers in a run of digits and separators: the whole run when it is
    one number in any spelling the ingest reads (``8 (916) 123-45-67``, ``9161234567``,
    ``916-123-45-67``, ``+7 916 ...``, ``00 7 916 ...``), else the longest valid numbers made of
    whole pieces between spaces and dashes, left to right (two numbers one after the other, a
    number with a suffix: ``89161234567-1``). Dates, epoch times and long ids are no valid number."""
    if _is_phone(run, region):
        return ((0, len(run)),)
    pieces = [m.span() for m in re.finditer(r"[^\s\-]+", run)]
    found, i = [], 0
    while i < len(pieces):
        for j in range(min(len(pieces), i + 9), i, -1):
            if _is_phone(run[pieces[i][0]:pieces[j - 1][1]], region):
                found.append((pieces[i][0], pieces[j - 1][1]))
                i = j
                break
        else:
            i += 1
    return tuple(found)


def contact_spans(text: str, region: str = "RU") -> list[tuple[int, int, str]]:
    """``(start, end, kind)`` of each e-mail address and phone number in ``text``, in order; ``kind``
    is ``email`` or ``phone``. The one recogniser of phones and e-mails in free text: ingest (hash
    mode) and exports (the quarantine) both use it.

    >>> t = "call 8-916-123-45-67 or иван@почта.рф at 2025-01-01 10:00, ts 1741586400"
    >>> [(t[a:b], k) for a, b, k in contact_spans(t)]
    [('8-916-123-45-67', 'phone'), ('иван@почта.рф', 'email')]
    """
    if not text:
        return []
    emails = [(m.start(), m.end(), "email") for m in _EMAIL.finditer(text)]
    spans, e = list(emails), 0
    for m in _PHONE_RUN.finditer(text):
        while e < len(emails) and emails[e][1] <= m.start():
            e += 1  # (runs and addresses both come in order: one pass)
        if e < len(emails) and emails[e][0] < m.end():
            continue  # digits inside an e-mail address (ivan89161234567@mail.ru) are the address's
        spans += [(m.start() + a, m.start() + b, "phone") for a, b in _phones_in(m.group(), region)]
    return sorted(spans)


def _replace_contacts(text: str, region: str, replacement) -> str:
    spans = contact_spans(text, region)
    if not spans:
        return text
    out, at = [], 0
    for start, end, kind in spans:
        out += [text[at:start], replacement(text[start:end], kind)]
        at = end
    return "".join(out) + text[at:]


def mask_text(text: str | None, region: str = "RU") -> str | None:
    """Phones and e-mails in a piece of raw input replaced by ``<phone>`` / ``<email>``.

    >>> mask_text("2025-01-01;call;8 (916) 123-45-67;Ivan@Mail.ru;+7 903 765-43-21")
    '2025-01-01;call;<phone>;<email>;<phone>'
    >>> mask_text("event_time: cannot parse 'petr.i@inbox.ru'; 9161234567, 916-123-45-67, /?e=a%40b.ru")
    "event_time: cannot parse '<email>'; <phone>, <phone>, /?e=<email>"
    """
    if text is None:
        return None
    return _replace_contacts(text, region, lambda found, kind: MASKS[kind])


def has_contact(text: str | None, region: str = "RU") -> bool:
    """True when ``text`` holds something the recogniser takes for a phone or an e-mail."""
    return bool(text) and bool(contact_spans(text, region))


#: Fields whose values must stay distinct (a given event id, identifier cells): in hash mode a phone or
#: e-mail inside them becomes its salted hash rather than a mask.
KEY_FIELDS = ("event_id", "customer_id", "anonymous_id", "user_id", "client_id", "crm_contact_id")


@dataclass(frozen=True)
class PiiPolicy:
    """How ingest writes personal data: as it is (no salt), or hashed and masked."""

    salt: bytes | None = None
    blocklist: tuple[tuple[str, str, str], ...] = ()
    """``(id_type, exact|regex, pattern)`` rows: matching values stay in clear."""
    columns: tuple[str, ...] = ()
    """``identity.pii_columns``: columns and properties whose whole value is personal data."""

    @property
    def hashing(self) -> bool:
        return self.salt is not None

    @property
    def mode(self) -> str:
        return "hash" if self.hashing else "clear"

    def protect(self, id_type: str, value: str | None, region: str = "RU") -> str | None:
        """A cleaned identifier as the warehouse stores it: a phone or e-mail hashed (unless it is
        blocklisted); in an identifier of another type, each phone or e-mail in it hashed.

        >>> p = PiiPolicy(salt=b"s", blocklist=(("phone", "exact", "+74950000000"),))
        >>> p.protect("phone", "+79161234567")[:15], p.protect("phone", "+74950000000"), p.protect("user_id", "42")
        ('sha256:73a9f972', '+74950000000', '42')
        >>> p.protect("user_id", "Ivan@Mail.ru")[:15]
        'sha256:a45f1598'
        """
        if value is None or self.salt is None or self._blocked(id_type, value):
            return value
        if id_type not in PII_TYPES:
            return self.protect_key(value, region)
        return _hash(self.salt, value)

    def protect_raw(self, id_type: str, raw: str | None, value: str | None, region: str = "RU") -> str | None:
        """The raw spelling kept beside a cleaned value: in hash mode the hash (or, for a value
        that is no identifier, the text with phones and e-mails masked)."""
        if self.salt is None or raw is None:
            return raw
        if id_type not in PII_TYPES:
            return raw if value is not None and self._blocked(id_type, value) else self.protect_key(raw, region)
        if value is None:
            return mask_text(raw, region)
        return self.protect(id_type, value)

    def protect_text(self, text: str | None, region: str = "RU") -> str | None:
        """Free text as the warehouse keeps it: in hash mode with phones and e-mails masked."""
        return mask_text(text, region) if self.hashing else text

    def protect_key(self, text: str | None, region: str = "RU") -> str | None:
        """A key that must stay distinct as the warehouse keeps it: in hash mode each phone or
        e-mail in it replaced by the salted hash of its exact spelling (so equal keys stay equal
        and different keys different).

        >>> PiiPolicy(salt=b"s").protect_key("lead-89161234567-1")[:20]
        'lead-sha256:22d4afa0'
        """
        if not self.hashing or text is None:
            return text
        return _replace_contacts(text, region, lambda found, kind: _hash(self.salt, found))

    def protect_field(self, name: str, text: str | None, region: str = "RU") -> str | None:
        """A value of column or property ``name`` as the warehouse keeps it: in hash mode an
        ``identity.pii_columns`` value hashed whole, a key (:data:`KEY_FIELDS`) with its phones and
        e-mails hashed, any other text with them masked.

        >>> p = PiiPolicy(salt=b"s", columns=("full_name",))
        >>> p.protect_field("comment", "call me: 8 916 123-45-67"), p.protect_field("full_name", "Иван Петров")[:15]
        ('call me: <phone>', 'sha256:ec7d9b97')
        """
        if not self.hashing or text is None:
            return text
        if name in self.columns:
            return _hash(self.salt, text)
        if name in KEY_FIELDS:
            return self.protect_key(text, region)
        return mask_text(text, region)

    def _blocked(self, id_type: str, value: str) -> bool:
        for kind_type, kind, pattern in self.blocklist:
            if kind_type not in (id_type, "any"):
                continue
            if (kind == "exact" and value == pattern) or (kind == "regex" and _regex(pattern).search(value)):
                return True
        return False


CLEAR = PiiPolicy()


def _hash(salt: bytes, value: str) -> str:
    return HASH_PREFIX + hmac.new(salt, value.encode("utf-8"), hashlib.sha256).hexdigest()


@functools.lru_cache(maxsize=256)
def _regex(pattern: str) -> re.Pattern:
    return re.compile(pattern)


def policy_for(cfg) -> PiiPolicy:
    """The policy of a config (``identity.pii``); hash mode reads the salt from the environment."""
    ident = cfg.identity
    if ident.pii != "hash":
        return CLEAR
    salt = os.environ.get(ident.pii_salt_env, "")
    if not salt:
        raise CjmError(f"identity.pii: hash needs a secret salt in the environment variable {ident.pii_salt_env} "
                       "(e.g. `export {0}=$(openssl rand -hex 32)`, kept with the warehouse's backups: "
                       "another salt gives other hashes and other customer ids)".format(ident.pii_salt_env))
    return PiiPolicy(salt=salt.encode("utf-8"), blocklist=tuple(ident.blocklist_rows()),
                     columns=tuple(ident.pii_columns))

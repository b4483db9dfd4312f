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
* the raw spelling of a hashed identifier is not kept (its ``raw`` is the hash), and phones and
  e-mails in the raw text of unreadable rows (``raw_rejects``) become ``<phone>``/``<email>``.

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

from .errors import CjmError

#: Identifier types that are personal data.
PII_TYPES = ("phone", "email")
HASH_PREFIX = "sha256:"

#: Phones and e-mails inside free text (the same patterns as sql/queries/quarantine_masked.sql).
_TEXT_PATTERNS = (
    (re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}"), "<email>"),
    (re.compile(r"\+\d[\d \-()]{8,16}\d"), "<phone>"),
    (re.compile(r"\b[78] ?\(?\d{3}\)?[ -]?\d{3}[ -]?\d{2}[ -]?\d{2}\b"), "<phone>"),
)


def mask_text(text: str | None) -> str | None:
    """Phones and e-mails in a piece of raw input replaced by ``<phone>`` / ``<email>``.

    >>> mask_text("2025-01-01;call;8 (916) 123-45-67;Ivan@Mail.ru;+7 903 765-43-21")
    '2025-01-01;call;<phone>;<email>;<phone>'
    """
    if text is None:
        return None
    for pattern, replacement in _TEXT_PATTERNS:
        text = pattern.sub(replacement, text)
    return text


@dataclass(frozen=True)
class PiiPolicy:
    """How ingest writes phone and e-mail identifiers: as they are (no salt) or hashed."""

    salt: bytes | None = None
    blocklist: tuple[tuple[str, str, str], ...] = ()
    """``(id_type, exact|regex, pattern)`` rows: matching values stay in clear."""

    @property
    def hashing(self) -> bool:
        return self.salt is not None

    @property
    def mode(self) -> str:
        return "hash" if self.hashing else "clear"

    def protect(self, id_type: str, value: str | None) -> str | None:
        """A cleaned identifier as the warehouse stores it.

        >>> p = PiiPolicy(salt=b"s", blocklist=(("phone", "exact", "+74950000000"),))
        >>> p.protect("phone", "+79161234567")[:15], p.protect("phone", "+74950000000"), p.protect("user_id", "42")
        ('sha256:73a9f972', '+74950000000', '42')
        """
        if value is None or self.salt is None or id_type not in PII_TYPES or self._blocked(id_type, value):
            return value
        return _hash(self.salt, value)

    def protect_raw(self, id_type: str, raw: str | None, value: str | None) -> str | None:
        """The raw spelling kept beside a cleaned value: in hash mode the hash (or, for a value
        that is no identifier, the text with phones and e-mails masked)."""
        if self.salt is None or id_type not in PII_TYPES or raw is None:
            return raw
        if value is None:
            return mask_text(raw)
        return self.protect(id_type, value)

    def protect_text(self, text: str | None) -> str | None:
        """Raw input text (an unreadable row) as the warehouse keeps it."""
        return mask_text(text) if self.hashing else text

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
    return PiiPolicy(salt=salt.encode("utf-8"), blocklist=tuple(ident.blocklist_rows()))

"""The people's identifiers: names, e-mails, phones as people and systems spell them, shared phones.

Every person of a real-format world has a unique mobile number (:func:`phone_digits`), a
name and often an e-mail; :func:`spell_phone` writes a number the way a caller, a manager
or a cashier would; :func:`shared_identities` picks who shares a reception or a family
phone. :func:`connected` tells whether a person's records link into one customer.
"""

from __future__ import annotations

import random

from .model import IdentityModel, WorldModel

FIRST_NAMES = ("ivan", "anna", "olga", "sergey", "maria", "dmitry", "elena", "pavel", "irina", "alexey",
               "natalia", "mikhail", "tatiana", "andrey", "ekaterina", "nikolay", "yulia", "artem")
LAST_NAMES = ("petrov", "ivanova", "smirnov", "kuznetsova", "popov", "sokolova", "lebedev", "kozlova",
              "novikov", "morozova", "volkov", "fedorova")
#: The women's names of FIRST_NAMES: their surnames take the feminine form (Kozlova, not Kozlov).
FEMALE_NAMES = frozenset({"anna", "olga", "maria", "elena", "irina", "natalia", "tatiana", "ekaterina", "yulia"})
MAIL_DOMAINS = ("mail.ru", "yandex.ru", "gmail.com", "bk.ru", "inbox.ru", "list.ru", "rambler.ru")
#: Mobile operator codes after +7 9.. (none that the placeholder blocklist could match).
OPERATOR_CODES = ("16", "03", "26", "85", "77", "67", "15", "05", "31", "60", "62", "68", "25", "19", "50", "52")
PLACEHOLDER_EMAILS = ("test@test.ru", "noemail@mail.ru", "no@no.ru", "mail@mail.ru")
PLACEHOLDER_PHONE = "9999999999"


def surname(first: str, last: str) -> str:
    """``last`` (a Russian surname in -ov/-ova, -ev/-eva) in the gender of the first name ``first``.

    >>> surname("mikhail", "kozlova"), surname("anna", "petrov"), surname("anna", "ivanova")
    ('kozlov', 'petrova', 'ivanova')
    """
    base = last[:-1] if last.endswith("a") else last
    return base + "a" if first in FEMALE_NAMES else base


def spell_phone(digits: str, rng: random.Random, style: str) -> str:
    """A 10-digit Russian number (``9161234567``) the way a person or system writes it.

    ``style``: ``caller`` (call tracking: mostly bare digits), ``manager`` (a CRM contact)
    or ``cashier`` (a till or a form).

    >>> sorted({spell_phone("9161234567", random.Random(i), "manager") for i in range(40)})[:3]
    ['+7 (916) 123-45-67', '+7 916 123 45 67', '+79161234567']
    """
    d = digits
    if len(d) == 10 and d[0] != "9":  # a landline: (495) 123-45-67
        options = [f"+7 ({d[:3]}) {d[3:6]}-{d[6:8]}-{d[8:]}", f"8 ({d[:3]}) {d[3:6]}-{d[6:8]}-{d[8:]}", f"7{d}"]
        return rng.choice(options)
    if style == "caller":
        return rng.choice([f"7{d}", f"7{d}", f"7{d}", f"8{d}", f"+7{d}"])
    if style == "manager":
        return rng.choice([f"8 ({d[:3]}) {d[3:6]}-{d[6:8]}-{d[8:]}", f"+7 {d[:3]} {d[3:6]} {d[6:8]} {d[8:]}",
                           f"+7 ({d[:3]}) {d[3:6]}-{d[6:8]}-{d[8:]}", f"8{d}", f"+7{d}", f"8 {d[:3]} {d[3:]}"])
    return rng.choice([f"8-{d[:3]}-{d[3:6]}-{d[6:8]}-{d[8:]}", d, f"+7{d}", f"8{d}", f"+7 ({d[:3]}) {d[3:6]}-{d[6:]}"])


def phone_digits(index: int) -> str:
    """A unique mobile number (10 digits) for person ``index``: a bijection of the index.

    >>> phone_digits(0), phone_digits(1)
    ('9160104729', '9030112648')
    """
    return "9" + OPERATOR_CODES[index % len(OPERATOR_CODES)] + f"{(index * 7919 + 104729) % 10**7:07d}"


def connected(groups: list[set[tuple[str, str]]]) -> bool:
    """True when the records (each a set of identifier tokens) form one connected component.

    >>> connected([{("a", "1")}, {("a", "1"), ("b", "2")}, {("b", "2")}]), connected([{("a", "1")}, {("b", "2")}])
    (True, False)
    """
    parent: dict[tuple[str, str], tuple[str, str]] = {}

    def find(x):
        while parent.setdefault(x, x) != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for g in groups:
        items = sorted(g)
        for a in items[1:]:
            parent[find(a)] = find(items[0])
    if any(not g for g in groups):
        return False
    roots = {find(next(iter(g))) for g in groups}
    return len(roots) == 1


def shared_identities(model: WorldModel, identity: IdentityModel, customers: int, seed: int) -> dict[int, dict[str, str]]:
    """Who shares a phone: company reception phones (4-6 people each) and a few family phones."""
    rng = random.Random(f"{seed}:{model.template}:shared")
    out: dict[int, dict[str, str]] = {}
    order = list(range(customers))
    rng.shuffle(order)
    n_company = int(customers * identity.company_share) if model.crm else 0
    pos, company = 0, 0
    while n_company - pos >= 4:
        size = min(rng.randint(4, 6), n_company - pos)
        phone = "495" + f"{(company * 104723 + 5550000) % 10**7:07d}"
        for idx in order[pos:pos + size]:
            out[idx] = {"company_phone": phone}
        pos += size
        company += 1
    n_family = int(customers * identity.family_share) // 2
    for k in range(n_family):
        a, b = order[pos + 2 * k], order[pos + 2 * k + 1]
        out[b] = {"family_phone": phone_digits(a), "shares_with": f"p{a + 1:06d}"}
        out.setdefault(a, {})["shares_with"] = f"p{b + 1:06d}"
    return out


__all__ = ["spell_phone", "phone_digits", "surname", "connected", "shared_identities", "OPERATOR_CODES",
           "PLACEHOLDER_EMAILS", "PLACEHOLDER_PHONE"]

"""Identity stitching on real export formats: the named traps.

Each test writes small Metrica / Calltouch / amoCRM files, runs the pipeline through
``customer_events`` and checks who became one customer and who did not.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest
import yaml
from click.testing import CliRunner

from cjm_pipeline import db, pipeline
from cjm_pipeline.cli import main
from cjm_pipeline.config import IdentityConfig
from cjm_pipeline.errors import WarehouseError
from cjm_pipeline.warehouse import Warehouse
from formats import config_for

A = "1696470418123456789"   # Metrica ClientIDs (19 digits: exact, never floats)
B = "1707980001987654321"
HEADER = ["ym:s:visitID", "ym:s:dateTime", "ym:s:clientID", "ym:s:lastTrafficSource", "ym:s:goalsID",
          "ym:s:goalsDateTime"]


def visits(path: Path, rows: list[tuple[str, str, str]]) -> None:
    """(visit id, local time, client id) rows as a Metrica Logs API visits TSV."""
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = ["\t".join(HEADER)] + ["\t".join([v, t, c, "organic", "[]", "[]"]) for v, t, c in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def calls(path: Path, records: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    full = [{"callId": r["id"], "date": r["date"], "callerNumber": r["caller"], "phoneNumber": "74951500000",
             "redirectNumber": "74957770000", "successful": True, "duration": 120, "yaClientId": r.get("ym"),
             "sessionId": r.get("session", 0)} for r in records]
    path.write_text(json.dumps({"page": 1, "pageTotal": 1, "records": full}), encoding="utf-8")


def contacts(path: Path, items: list[dict]) -> None:
    """amoCRM contacts: {id, phones: [...], emails: [...]}."""
    path.parent.mkdir(parents=True, exist_ok=True)
    out = []
    for c in items:
        fields = [{"field_id": 3, "field_code": "PHONE", "field_name": "Телефон", "field_type": "multitext",
                   "values": [{"value": p, "enum_code": "MOB"} for p in c.get("phones", [])]},
                  {"field_id": 5, "field_code": "EMAIL", "field_name": "Email", "field_type": "multitext",
                   "values": [{"value": e, "enum_code": "WORK"} for e in c.get("emails", [])]}]
        out.append({"id": c["id"], "name": f"Контакт {c['id']}", "created_at": 1709276818, "updated_at": 1709276818,
                    "custom_fields_values": fields})
    path.write_text(json.dumps({"_page": 1, "_embedded": {"contacts": out}}, ensure_ascii=False), encoding="utf-8")


def leads(path: Path, items: list[dict]) -> None:
    """amoCRM leads: {id, contact, ym}."""
    path.parent.mkdir(parents=True, exist_ok=True)
    out = [{"id": x["id"], "name": "Заявка с сайта", "price": 50000, "status_id": 61000002, "pipeline_id": 7001234,
            "created_at": x.get("created_at", 1709290000), "updated_at": x.get("created_at", 1709290000),
            "closed_at": None,
            "custom_fields_values": [{"field_id": 881, "field_name": "ym_client_id", "field_code": None,
                                      "values": [{"value": x["ym"]}]}] if x.get("ym") else None,
            "_embedded": {"contacts": [{"id": x["contact"], "is_main": True}]}} for x in items]
    path.write_text(json.dumps({"_page": 1, "_embedded": {"leads": out}}, ensure_ascii=False), encoding="utf-8")


SOURCES = [
    {"name": "metrica", "format": "metrica_visits", "path": "data/metrica"},
    {"name": "calltouch", "format": "calltouch", "path": "data/calltouch"},
    {"name": "amocrm", "format": "amocrm", "path": "data/amocrm"},
]


def run(tmp_path: Path, identity: dict | None = None, until: str | None = "customer_events"):
    """The pipeline (through customer_events) on the sources that have files so far."""
    present = [s for s in SOURCES if (tmp_path / s["path"]).is_dir()]
    cfg = config_for(tmp_path, present)
    if identity:
        cfg = replace(cfg, identity=IdentityConfig(**identity))
    result = pipeline.run(cfg, until=until, export_outputs=False)
    return cfg, result


def tables(cfg, *names) -> list[pd.DataFrame]:
    con = db.connect(cfg.warehouse_path, read_only=True)
    try:
        return [db.read_table(con, n) for n in names]
    finally:
        con.close()


def customers_of(cfg) -> dict[str, str]:
    (ce,) = tables(cfg, "customer_events")
    return dict(zip(ce.event_id, ce.customer_id))


def test_visit_lead_and_call_with_a_second_browser_are_one_customer(tmp_path):
    visits(tmp_path / "data/metrica/v.tsv", [("7234567890123456789", "2024-03-01 10:00:00", A),
                                            ("7234567890123456790", "2024-03-04 21:00:00", B)])
    leads(tmp_path / "data/amocrm/leads.json", [{"id": 4821, "contact": 31, "ym": A}])
    contacts(tmp_path / "data/amocrm/contacts.json", [{"id": 31, "phones": ["8 (916) 123-45-67"]}])
    calls(tmp_path / "data/calltouch/calls.json", [{"id": 501, "date": "05/03/2024 14:21:07", "caller": "79161234567",
                                                    "ym": B, "session": 777}])
    cfg, _ = run(tmp_path)
    customer = customers_of(cfg)
    assert len(set(customer.values())) == 1, customer
    assert set(customer) >= {"metrica:visit:7234567890123456789", "metrica:visit:7234567890123456790",
                             "amocrm:lead:4821:created", "amocrm:contact:31:created", "calltouch:call:501"}
    (idmap,) = tables(cfg, "identity_map")
    assert {f"ym_client_id:{A}", f"ym_client_id:{B}", "phone:+79161234567", "crm_contact:31",
            "crm_lead:4821"} <= set(idmap.identifier)


def test_a_reception_phone_on_several_contacts_merges_none_of_them(tmp_path):
    reception = "+7 (495) 123-45-67"
    contacts(tmp_path / "data/amocrm/contacts.json",
             [{"id": 40 + k, "phones": [reception], "emails": [f"buyer{k}@mail.ru"]} for k in range(5)])
    cfg, _ = run(tmp_path)
    assert len(set(customers_of(cfg).values())) == 5
    (hubs,) = tables(cfg, "identity_hubs")
    assert hubs.set_index("identifier").loc["phone:+74951234567", "crm_contacts"] == 5
    # with a higher cap it is an ordinary phone again, and glues them together
    cfg, _ = run(tmp_path, identity={"max_contacts_per_identifier": 10})
    assert len(set(customers_of(cfg).values())) == 1


def test_placeholders_and_dialled_numbers_join_nobody(tmp_path):
    contacts(tmp_path / "data/amocrm/contacts.json", [
        {"id": 51, "emails": ["test@test.ru"], "phones": ["+7 999 999-99-99"]},
        {"id": 52, "emails": ["TEST@test.ru"], "phones": ["89999999999"]},
        {"id": 53, "emails": ["noemail@mail.ru"], "phones": ["undefined"]},
    ])
    calls(tmp_path / "data/calltouch/calls.json", [
        {"id": 601, "date": "05/03/2024 14:21:07", "caller": "+79999999999", "ym": A},
        {"id": 602, "date": "05/03/2024 15:00:00", "caller": "79031112233", "ym": B},
    ])
    cfg, _ = run(tmp_path)
    customer = customers_of(cfg)
    assert len(set(customer.values())) == 5  # three contacts, two callers: nobody glued
    (ids,) = tables(cfg, "event_identifiers")
    blocked = set(ids.loc[ids.blocked, "identifier"])
    assert {"email:test@test.ru", "phone:+79999999999", "email:noemail@mail.ru"} <= blocked
    # the number both callers dialled (phoneNumber) and the redirect number are no identifiers at all
    assert not ids.identifier.isin(["phone:+74951500000", "phone:+74957770000"]).any()


def test_configured_regexes_block_their_own_type_or_any_type(tmp_path):
    """identity.blocklist regexes (one pattern bound for all, IdentityConfig.blocklist_regex):
    an `email` regex blocks e-mails only, an `any` regex every type; `^`/`$` anchor the value."""
    contacts(tmp_path / "data/amocrm/contacts.json", [
        {"id": 61, "emails": ["shop@corp.ru"], "phones": ["+7 903 111-22-33"]},
        {"id": 62, "emails": ["shop@corp.ru.example.com"], "phones": ["+7 903 111-22-33"]},
        {"id": 900, "emails": ["buyer@mail.ru"]},
    ])
    cfg, _ = run(tmp_path, identity={"blocklist": {"email": [r"re:@corp\.ru$"], "any": ["re:^9\\d{2}$"]}})
    (ids,) = tables(cfg, "event_identifiers")
    blocked = set(ids.loc[ids.blocked, "identifier"])
    assert "email:shop@corp.ru" in blocked and "crm_contact:900" in blocked
    assert not {"email:shop@corp.ru.example.com", "crm_contact:61", "phone:+79031112233"} & blocked
    # the two contacts still share their phone; the blocked e-mail glues nothing
    customer = customers_of(cfg)
    assert customer["amocrm:contact:61:created"] == customer["amocrm:contact:62:created"]


def test_a_placeholder_only_event_is_its_own_customer(tmp_path):
    calls(tmp_path / "data/calltouch/calls.json", [
        {"id": 701, "date": "05/03/2024 14:21:07", "caller": "+79999999999"},
        {"id": 702, "date": "05/03/2024 15:21:07", "caller": "+79999999999"},
    ])
    cfg, _ = run(tmp_path)
    customer = customers_of(cfg)
    assert set(customer) == {"calltouch:call:701", "calltouch:call:702"}
    assert customer["calltouch:call:701"] != customer["calltouch:call:702"]


def test_two_phones_in_one_cell_link_both_numbers(tmp_path):
    contacts(tmp_path / "data/amocrm/contacts.json",
             [{"id": 61, "phones": ["8 916 123-45-67, 8 903 765-43-21 доб. 12"]}])
    calls(tmp_path / "data/calltouch/calls.json", [
        {"id": 801, "date": "05/03/2024 14:21:07", "caller": "79161234567", "ym": A},
        {"id": 802, "date": "06/03/2024 11:00:00", "caller": "89037654321", "ym": B},
    ])
    cfg, _ = run(tmp_path)
    assert len(set(customers_of(cfg).values())) == 1
    (idmap,) = tables(cfg, "identity_map")
    assert {"phone:+79161234567", "phone:+79037654321", f"ym_client_id:{A}", f"ym_client_id:{B}"} <= set(
        idmap.identifier)


def test_customer_ids_stay_stable_over_three_nights_and_a_merge_is_recorded(tmp_path):
    # night 1: person X on browser A
    visits(tmp_path / "data/metrica/night1.tsv", [("7234567890123400001", "2024-03-01 10:00:00", A)])
    cfg, r1 = run(tmp_path)
    (m1,) = tables(cfg, "identity_map")
    id_x = m1.set_index("identifier").loc[f"ym_client_id:{A}", "customer_id"]
    # night 2: X again, and someone on browser B (a new customer); X keeps its id
    visits(tmp_path / "data/metrica/night2.tsv", [("7234567890123400002", "2024-03-02 10:00:00", A),
                                                  ("7234567890123400003", "2024-03-02 11:00:00", B)])
    cfg, r2 = run(tmp_path)
    (m2,) = tables(cfg, "identity_map")
    m2 = m2.set_index("identifier")
    assert m2.loc[f"ym_client_id:{A}", "customer_id"] == id_x
    id_y = m2.loc[f"ym_client_id:{B}", "customer_id"]
    assert id_y != id_x
    # night 3: a call from B's owner and a lead from A's owner share one phone: a merge,
    # and the merged customer keeps the older id (X's, first seen on night 1)
    leads(tmp_path / "data/amocrm/leads.json", [{"id": 4900, "contact": 71, "ym": A}])
    contacts(tmp_path / "data/amocrm/contacts.json", [{"id": 71, "phones": ["+7 916 555-44-33"]}])
    calls(tmp_path / "data/calltouch/calls.json", [{"id": 901, "date": "03/03/2024 12:00:00", "caller": "89165554433",
                                                    "ym": B}])
    cfg, r3 = run(tmp_path)
    (m3, merges) = tables(cfg, "identity_map", "identity_merges")
    assert set(m3.customer_id) == {id_x}
    assert len(merges) == 1
    merge = merges.iloc[0]
    assert merge.run_id == r3.run_id and merge.customer_id == id_x
    assert list(merge.merged_ids) == [id_y]
    assert merge.linking_identifier in set(m3.identifier)
    # a fourth run with nothing new changes nothing and records no merge
    cfg, _ = run(tmp_path)
    (m4, merges4) = tables(cfg, "identity_map", "identity_merges")
    assert set(m4.customer_id) == {id_x} and len(merges4) == 1


def test_a_giant_component_is_flagged_and_warned_about(tmp_path):
    # one e-mail shared by 12 browsers (no CRM contacts, so it is no hub): a suspicious customer
    leads(tmp_path / "data/amocrm/leads.json",
          [{"id": 5000 + k, "contact": 99, "ym": f"17000000000000000{k:02d}"} for k in range(12)])
    cfg, result = run(tmp_path, identity={"flag_component_size": 10})
    (flagged,) = tables(cfg, "identity_flagged")
    assert len(flagged) == 1 and flagged.iloc[0].identifiers > 10
    assert any("identity_flagged" in w for w in result.warnings)


def test_explain_a_customer_from_python_and_the_cli(tmp_path):
    visits(tmp_path / "data/metrica/v.tsv", [("7234567890123456789", "2024-03-01 10:00:00", A)])
    leads(tmp_path / "data/amocrm/leads.json", [{"id": 4821, "contact": 31, "ym": A}])
    contacts(tmp_path / "data/amocrm/contacts.json", [{"id": 31, "phones": ["8 (916) 123-45-67"],
                                                         "emails": ["test@test.ru"]}])
    cfg, _ = run(tmp_path, until=None)
    info = Warehouse(cfg.warehouse_path).explain_customer("phone:+79161234567")
    assert info["customer_id"] == customers_of(cfg)["metrica:visit:7234567890123456789"]
    roles = dict(zip(info["identifiers"].identifier, info["identifiers"].role))
    assert roles == {f"ym_client_id:{A}": "links", "crm_lead:4821": "links", "crm_contact:31": "links",
                     "phone:+79161234567": "links", "email:test@test.ru": "blocked"}
    # the lead (client id + contact) and the contact (phone + lead) are what make one person
    assert set(info["links"].event_id) == {"amocrm:lead:4821:created", "amocrm:contact:31:created"}
    assert sorted(info["journey"].event_type) == ["contact_created", "lead_created", "visit"]
    # by event id too; an unknown key says how identifiers are written
    assert Warehouse(cfg.warehouse_path).resolve_customer("metrica:visit:7234567890123456789") == info["customer_id"]
    with pytest.raises(WarehouseError, match="type:value"):
        Warehouse(cfg.warehouse_path).resolve_customer("+79161234567")

    config_path = tmp_path / "config.yaml"
    config_path.write_text(yaml.safe_dump({
        "warehouse": str(cfg.warehouse_path), "timezone": "Europe/Moscow",
        "sources": SOURCES, "stages": [{"name": "any", "rules": [{"event_type": "re:.*"}]},
                                       {"name": "purchase", "rules": [{"event_type": "purchase"}]}],
    }, allow_unicode=True), encoding="utf-8")
    out = CliRunner().invoke(main, ["customer", "-c", str(config_path), f"ym_client_id:{A}"])
    assert out.exit_code == 0, out.output
    assert info["customer_id"] in out.output
    assert "email:test@test.ru" in out.output and "blocked" in out.output
    assert "amocrm/lead_created  crm_contact:31 + crm_lead:4821 + ym_client_id:" + A in out.output

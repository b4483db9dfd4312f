"""Each vendor's time zone, event ids from the parsed time, revenue on the won event (issue 22).

* A format applies its vendor's documented zone to times written without one (Salesforce,
  HubSpot, GA4: UTC); the account-zone formats use the config's ``timezone``; only a source's
  own ``timezone:`` overrides either.
* The same deal history read through the API, a sync tool's table and a UI export gives one set
  of events where the formats' ids allow it (the docs say where they cannot: Bitrix24's UI
  export has no move time).
* One rule across CRMs: revenue sits on the won event; the price at creation is a property.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pandas as pd
import pytest

from cjm_pipeline.schema import FORMATS, naive_timezone
from formats import FIXTURES, events_of, load_sources, parse_file

SF = FIXTURES / "salesforce" / "OpportunityHistory.csv"
HUBSPOT_DEALS = FIXTURES / "hubspot" / "deals.json"


def times(loaded) -> dict[str, pd.Timestamp]:
    return dict(zip(loaded.events.event_id, map(pd.Timestamp, loaded.events.event_ts)))


def write_csv(path: Path, header: list[str], rows: list[list]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows([header, *rows])
    return path


# --------------------------------------------------------------------------- zones


def test_vendor_zones_in_the_catalog():
    assert {name for name, spec in FORMATS.items() if spec.timezone == "UTC"} == {"ga4", "hubspot", "salesforce"}
    assert naive_timezone("salesforce", None, "Europe/Moscow") == "UTC"
    assert naive_timezone("salesforce", "Asia/Yekaterinburg", "Europe/Moscow") == "Asia/Yekaterinburg"
    assert naive_timezone("comagic", None, "Europe/Moscow") == "Europe/Moscow"


def naive_salesforce(tmp_path: Path) -> Path:
    """The Data Loader fixture as a report-style export writes it: ``CreatedDate`` without a zone."""
    rows = list(csv.reader(SF.open(encoding="utf-8")))
    header, data = rows[0], [r for r in rows[1:5]]
    at = header.index("CreatedDate")
    for r in data:
        r[at] = r[at].replace("T", " ").replace(".000+0000", "")  # 2024-03-01 07:06:58
    return write_csv(tmp_path / "sf" / "OpportunityHistory.csv", header, data)


def test_salesforce_naive_created_date_is_utc_whatever_the_config_zone(tmp_path):
    path = naive_salesforce(tmp_path)
    loaded = load_sources(tmp_path / "a", [{"name": "sf", "format": "salesforce", "path": str(path)}],
                          timezone="Europe/Moscow")
    t = times(loaded)
    assert t["sf:history:0085g00000HsT01AAF"] == pd.Timestamp("2024-03-01 07:06:58")  # not shifted by Moscow's +3 h
    assert t["sf:history:0085g00000HsT04AAF"] == pd.Timestamp("2024-03-07 10:00:00")


def test_a_source_timezone_overrides_the_vendor_zone(tmp_path):
    path = naive_salesforce(tmp_path)
    loaded = load_sources(tmp_path / "b", [{"name": "sf", "format": "salesforce", "path": str(path),
                                            "timezone": "Europe/Moscow"}], timezone="UTC")
    assert times(loaded)["sf:history:0085g00000HsT01AAF"] == pd.Timestamp("2024-03-01 04:06:58")


def test_account_zone_formats_follow_the_config_zone(tmp_path):
    # CoMagic writes the account's local time: the config's zone applies
    loaded = load_sources(tmp_path, [{"name": "cm", "format": "comagic",
                                      "path": str(FIXTURES / "comagic" / "calls_report.json")}],
                          timezone="Asia/Yekaterinburg")
    raw = json.loads((FIXTURES / "comagic" / "calls_report.json").read_text("utf-8"))["result"]["data"][0]
    local = pd.Timestamp(raw["start_time"])
    assert times(loaded)[f"cm:call:{raw['id']}"] == local - pd.Timedelta(hours=5)


# --------------------------------------------------------------------------- one set of events


def hubspot_history_tables(tmp_path: Path) -> tuple[Path, Path]:
    """Deal 15678901234's stage history as Fivetran writes it: ``deal_property_history`` with
    ``... UTC`` timestamps (BigQuery's CSV spelling) and ``deal_stage`` with naive ``date_entered``."""
    deal = json.loads(HUBSPOT_DEALS.read_text("utf-8"))["results"][0]
    history = deal["propertiesWithHistory"]["dealstage"]
    spelt = [(h["value"], pd.Timestamp(h["timestamp"]).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]) for h in history]
    prop = write_csv(tmp_path / "fivetran" / "deal_property_history.csv",
                     ["deal_id", "timestamp", "_fivetran_synced", "source", "name", "source_id", "value"],
                     [[deal["id"], f"{at} UTC", "2024-03-08 01:00:00.000 UTC", "CRM_UI", "dealstage", "", v]
                      for v, at in spelt])
    stage = write_csv(tmp_path / "fivetran_stage" / "deal_stage.csv",
                      ["deal_id", "_fivetran_start", "_fivetran_end", "_fivetran_active", "date_entered", "source",
                       "source_id", "value"],
                      [[deal["id"], at, "9999-12-31 23:59:59", "true", at, "CRM_UI", "", v] for v, at in spelt])
    return prop, stage


def test_hubspot_api_and_fivetran_tables_give_one_event_per_stage_change(tmp_path):
    prop, stage = hubspot_history_tables(tmp_path)
    api = {e.event_id for e in events_of(parse_file("hubspot", HUBSPOT_DEALS)) if e.row == 1
           and e.event_type == "deal_stage_changed"}
    for table in (prop, stage):
        assert {e.event_id for e in events_of(parse_file("hubspot", table, timezone="UTC"))} == api
    loaded = load_sources(tmp_path, [
        {"name": "hs", "format": "hubspot", "path": str(HUBSPOT_DEALS)},
        {"name": "hs_ft", "format": "hubspot", "path": str(prop)},
        {"name": "hs_stage", "format": "hubspot", "path": str(stage)}], timezone="Europe/Moscow")
    ev = loaded.events
    # three sources, one deal, three changes: each source keeps its own copy (event ids are per source),
    # and inside each source the three changes are three events at the same instants
    for source in ("hs", "hs_ft", "hs_stage"):
        mine = ev[(ev.source == source) & (ev.event_type == "deal_stage_changed")
                  & ev.event_id.str.contains(":15678901234:")]
        assert sorted(mine.event_id.str.split(":", n=1).str[1]) == sorted(api)
        assert sorted(map(pd.Timestamp, mine.event_ts)) == [
            pd.Timestamp("2024-03-01 07:06:58.123"), pd.Timestamp("2024-03-02 09:00:00"),
            pd.Timestamp("2024-03-07 10:00:00.789")]


def test_hubspot_api_and_history_in_one_source_are_one_set(tmp_path):
    prop, _ = hubspot_history_tables(tmp_path)
    folder = tmp_path / "hubspot"
    folder.mkdir()
    (folder / "deals.json").write_bytes(HUBSPOT_DEALS.read_bytes())
    (folder / "deal_property_history.csv").write_bytes(prop.read_bytes())
    loaded = load_sources(tmp_path, [{"name": "hs", "format": "hubspot", "path": str(folder)}])
    ev = loaded.events
    stages = ev[ev.event_id.str.startswith("hs:deal:15678901234:stage:")]
    assert len(stages) == 3  # 2 stage changes after creation + the first stage; not 6
    acc = loaded.accounting.iloc[0]
    assert acc.rows_duplicate == 3 and acc.rows_in == acc.rows_loaded + acc.rows_duplicate + acc.rows_quarantined


def salesforce_three_ways(tmp_path: Path) -> dict[str, Path]:
    """The same OpportunityHistory rows as the Data Loader CSV, a REST query result and Fivetran's table."""
    rows = list(csv.DictReader(SF.open(encoding="utf-8")))[:4]
    rest = {"totalSize": 4, "done": True, "records": [
        {"attributes": {"type": "OpportunityHistory", "url": f"/services/data/v59.0/sobjects/OpportunityHistory/{r['Id']}"},
         **{k: v for k, v in r.items() if k != "Opportunity.Name"},
         "Opportunity": {"attributes": {"type": "Opportunity"}, "Name": r["Opportunity.Name"]},
         "Amount": float(r["Amount"]), "IsDeleted": False} for r in rows]}
    api = tmp_path / "rest" / "opportunity_history.json"
    api.parent.mkdir(parents=True)
    api.write_text(json.dumps(rest, ensure_ascii=False, indent=2), "utf-8")
    snake = {"Id": "id", "OpportunityId": "opportunity_id", "CreatedById": "created_by_id",
             "CreatedDate": "created_date", "StageName": "stage_name", "Amount": "amount",
             "FromOpportunityStageName": "from_opportunity_stage_name", "IsDeleted": "is_deleted"}
    fivetran = write_csv(tmp_path / "fivetran" / "opportunity_history.csv", [*snake.values(), "_fivetran_synced"],
                         [[r[k].replace("T", " ").replace(".000+0000", "") if k == "CreatedDate" else r[k]
                           for k in snake] + ["2024-03-08 00:00:00"] for r in rows])
    csv_copy = tmp_path / "dataloader" / "OpportunityHistory.csv"
    csv_copy.parent.mkdir()
    write_csv(csv_copy, list(rows[0]), [list(r.values()) for r in rows])
    return {"csv": csv_copy, "rest": api, "fivetran": fivetran}


def test_salesforce_csv_rest_and_fivetran_are_one_set_of_events(tmp_path):
    paths = salesforce_three_ways(tmp_path)
    parsed = {k: [(e.event_id, e.event_type, e.revenue and float(e.revenue), e.properties.get("stage_semantic"))
                  for e in events_of(parse_file("salesforce", p))] for k, p in paths.items()}
    assert parsed["rest"] == parsed["csv"] == parsed["fivetran"]
    folder = tmp_path / "all"
    folder.mkdir()
    for k, p in paths.items():
        (folder / f"{k}{p.suffix}").write_bytes(p.read_bytes())
    loaded = load_sources(tmp_path / "run", [{"name": "sf", "format": "salesforce", "path": str(folder)}],
                          timezone="Europe/Moscow")
    assert len(loaded.events) == 5  # deal_created + 4 history rows, however many files hold them
    assert times(loaded)["sf:history:0085g00000HsT04AAF"] == pd.Timestamp("2024-03-07 10:00:00")
    acc = loaded.accounting.iloc[0]
    assert (acc.rows_in, acc.rows_loaded, acc.rows_duplicate) == (12, 4, 8)


def test_amocrm_api_and_ui_export_close_is_one_event(tmp_path):
    api = [e for e in events_of(parse_file("amocrm", FIXTURES / "amocrm" / "api" / "leads.json"))
           if e.event_type == "deal_stage_changed"]
    ui = [e for e in events_of(parse_file("amocrm", FIXTURES / "amocrm" / "leads_export.csv",
                                          timezone="Europe/Moscow")) if e.event_type == "deal_stage_changed"]
    assert {e.event_id for e in ui} <= {e.event_id for e in api}
    assert {e.event_id for e in ui} == {"lead:31000101:status:142:1709805600", "lead:31000102:status:143:1709991900"}


# --------------------------------------------------------------------------- revenue on the won event


def test_revenue_sits_on_the_won_event_in_every_crm(tmp_path):
    won_revenue = {}
    for fmt, path in [("amocrm", FIXTURES / "amocrm" / "api" / "leads.json"), ("hubspot", HUBSPOT_DEALS),
                      ("bitrix24", FIXTURES / "bitrix24" / "api" / "crm.deal.list_page1.json"), ("salesforce", SF)]:
        events = events_of(parse_file(fmt, path, timezone="UTC"))
        with_revenue = [e for e in events if e.revenue is not None]
        assert with_revenue, fmt
        assert {e.event_type for e in with_revenue} == {"deal_stage_changed"}, fmt
        assert {e.properties.get("stage_semantic") for e in with_revenue} == {"won"}, fmt
        won_revenue[fmt] = sorted(e.revenue for e in with_revenue)
    assert won_revenue["amocrm"] == ["289000"] and won_revenue["hubspot"] == ["125000.50"]


def test_amocrm_won_change_from_the_events_api_keeps_the_leads_price(tmp_path):
    loaded = load_sources(tmp_path, [{"name": "amo", "format": "amocrm", "path": str(FIXTURES / "amocrm" / "api")}])
    ev = loaded.events.set_index("event_id")
    won = ev.loc["amo:lead:31000101:status:142:1709805600"]
    assert won.revenue == 289000
    assert dict(won.properties)["previous_stage_id"]  # the events API's version won: it knows the previous stage
    assert pd.isna(ev.loc["amo:lead:31000101:created", "revenue"])
    assert ev.revenue.notna().sum() == 1


# --------------------------------------------------------------------------- real samples


def test_bitrix24_documented_responses(tmp_path):
    real = FIXTURES / "bitrix24" / "real"
    deal = {e.event_id: e for e in events_of(parse_file("bitrix24", real / "crm-deal-get.json"))}
    assert sorted(deal) == ["deal:410:created", "deal:410:stage:PREPARATION:1725020940"]
    assert deal["deal:410:created"].identifiers == [("crm_deal", "410"), ("crm_contact", "84"), ("crm_company", "9")]
    history = events_of(parse_file("bitrix24", real / "crm-stage-history-list.json"))
    assert [e.event_id for e in history] == ["deal:21:stage:NEW:1714057151"]
    contact = events_of(parse_file("bitrix24", real / "crm-contact-get.json"))
    assert [t for t, _ in contact[0].identifiers].count("phone") == 2
    lead = events_of(parse_file("bitrix24", real / "crm-lead-get.json"))
    assert [e.event_type for e in lead] == ["lead_created", "lead_status_changed"]
    loaded = load_sources(tmp_path, [{"name": "b24", "format": "bitrix24", "path": str(real)}])
    acc = loaded.accounting.iloc[0]
    assert acc.rows_quarantined == 0 and acc.rows_in == acc.rows_loaded + acc.rows_duplicate
    props = dict(loaded.events.set_index("event_id").loc["b24:deal:410:stage:PREPARATION:1725020940", "properties"])
    assert props["stage_name"] == "Подготовка документов"  # the name from crm.status.list in the same folder


def test_hubspot_sync_tools_real_records(tmp_path):
    real = FIXTURES / "hubspot" / "real"
    loaded = load_sources(tmp_path, [{"name": "hs", "format": "hubspot", "path": str(real)}], timezone="Europe/Moscow")
    t = times(loaded)
    # Fivetran's naive times are UTC (HubSpot's zone), not the config's Moscow
    assert t["hs:deal:1244495215:created"] == pd.Timestamp("2019-12-04 12:48:22")
    assert t["hs:deal:956062319:property:ky4p2Nx3U/ctHYnc+rKWvg==:1571760485"] == pd.Timestamp("2019-10-22 16:08:05.067000")
    ev = loaded.events.set_index("event_id")
    won = ev.loc["hs:deal:4307833946:stage:closedwon:1680620920"]
    assert won.revenue == 123 and pd.isna(ev.loc["hs:deal:4307833946:created", "revenue"])
    acc = loaded.accounting.iloc[0]
    assert (acc.rows_in, acc.rows_quarantined) == (19, 0)


def test_metrica_visits_from_airbyte(tmp_path):
    path = FIXTURES / "metrica" / "real" / "airbyte_sessions.jsonl"
    visits = events_of(parse_file("metrica_visits", path))
    assert [(v.event_id, v.channel, v.identifiers) for v in visits] == [
        ("visit:5495667461753405793", "direct", [("ym_client_id", "16636011071037673047")]),
        ("visit:6510128715683594333", "organic", [("ym_client_id", "791090144209")])]
    assert visits[1].properties["region_city"] == "Moscow" and visits[1].properties["watch_ids"] == (
        "[6510128715683594333]")
    loaded = load_sources(tmp_path, [{"name": "ym", "format": "metrica_visits", "path": str(path)}])
    assert times(loaded)["ym:visit:6510128715683594333"] == pd.Timestamp("2022-11-03 03:22:50")  # its written offset


@pytest.mark.parametrize("fmt", ["amocrm", "bitrix24", "hubspot", "salesforce", "calltouch", "comagic", "callrail",
                                 "ga4", "metrica_visits"])
def test_every_format_page_documents_its_zone_and_shapes(fmt):
    page = (Path(__file__).resolve().parents[1] / "docs" / "formats" / f"{fmt.split('_')[0]}.md").read_text("utf-8")
    assert "## Accepted shapes" in page and "## Time zone" in page


def test_hubspot_flat_deal_tables_of_stitch_and_dlt(tmp_path):
    # dlt: the deal's properties as bare columns; Stitch: properties__<name>__value; both a closed deal
    dlt = write_csv(tmp_path / "dlt" / "deals.csv", ["id", "dealname", "dealstage", "pipeline", "amount", "createdate",
                                                     "closedate", "_dlt_load_id"],
                    [["701", "Шкаф", "closedwon", "default", "56000", "2024-03-01 09:00:00", "2024-03-05 12:00:00",
                      "1709900000.1"]])
    stitch = tmp_path / "stitch" / "deals.jsonl"
    stitch.parent.mkdir()
    stitch.write_text(json.dumps({"dealId": 702, "properties": {
        "dealstage": {"value": "closedlost", "timestamp": 1709640000000, "source": "CRM_UI"},
        "amount": {"value": "9000"}, "createdate": {"value": "1709283600000"},
        "closedate": {"value": "1709640000000"}}, "associations": {"associatedVids": [501],
                                                                    "associatedCompanyIds": [9001]}}) + "\n")
    ev = {e.event_id: e for e in events_of(parse_file("hubspot", dlt, timezone="UTC"))}
    assert sorted(ev) == ["deal:701:created", "deal:701:stage:closedwon:1709640000"]
    assert ev["deal:701:stage:closedwon:1709640000"].revenue == "56000"  # 12:00 UTC: HubSpot's zone
    ev = {e.event_id: e for e in events_of(parse_file("hubspot", stitch))}
    lost = ev["deal:702:stage:closedlost:1709640000"]
    assert lost.revenue is None and lost.identifiers == [("crm_deal", "702"), ("crm_contact", "501"),
                                                         ("crm_company", "9001")]

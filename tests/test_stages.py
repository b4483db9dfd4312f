"""Stage classification: the first matching rule in configuration order wins."""

import pandas as pd

from journeys import journeys_for


def stage_of(r, customer="c1"):
    t = r.table("classified_events")
    t = t[t["customer_id"] == customer].sort_values("event_id")
    return [None if pd.isna(s) else s for s in t["stage"]]


def test_first_matching_rule_in_config_order_wins():
    stages = [
        {"name": "interest", "rules": [{"event_type": "page_view", "url": "*/catalog/*"}]},
        {"name": "consideration", "rules": [{"event_type": "page_view"}]},
    ]
    r = journeys_for({"c1": [
        ("page_view", "2025-01-01 10:00", {"url": "https://shop.ru/catalog/shoes"}),
        ("page_view", "2025-01-01 10:01", {"url": "https://shop.ru/delivery"}),
    ]}, stage_rules=stages)
    assert stage_of(r) == ["interest", "consideration"]


def test_all_keys_of_a_rule_must_match_and_lists_are_alternatives():
    stages = [
        {"name": "paid", "rules": [{"event_type": ["visit", "session_start"], "utm_medium": "cpc"}]},
        {"name": "other", "rules": [{"event_type": "never"}]},
    ]
    r = journeys_for({"c1": [
        ("visit", "2025-01-01 10:00", {"utm_medium": "cpc"}),
        ("session_start", "2025-01-01 10:01", {"utm_medium": "cpc"}),
        ("visit", "2025-01-01 10:02", {"utm_medium": "organic"}),
        ("visit", "2025-01-01 10:03"),
    ]}, stage_rules=stages)
    assert stage_of(r) == ["paid", "paid", None, None]


def test_glob_regex_and_property_rules():
    stages = [
        {"name": "search", "rules": [{"utm_source": "re:^(yandex|google)$"}]},
        {"name": "catalog", "rules": [{"url": "*/catalog/*"}]},
        {"name": "vip", "rules": [{"properties.segment": "VIP*"}]},
    ]
    r = journeys_for({"c1": [
        ("visit", "2025-01-01 10:00", {"utm_source": "yandex"}),
        ("visit", "2025-01-01 10:01", {"utm_source": "yandex.ru"}),
        ("page_view", "2025-01-01 10:02", {"url": "https://shop.ru/catalog/x"}),
        ("login", "2025-01-01 10:03", {"segment": "VIP gold"}),
        ("login", "2025-01-01 10:04", {"segment": "regular"}),
    ]}, stage_rules=stages)
    assert stage_of(r) == ["search", None, "catalog", "vip", None]


def test_cyrillic_stage_names_and_values():
    stages = [
        {"name": "Осведомленность", "rules": [{"event_type": "визит"}]},
        {"name": "Покупка", "rules": [{"event_type": "покупка", "properties.город": "Москва"}]},
    ]
    r = journeys_for({"c1": [
        ("визит", "2025-01-01 10:00"),
        ("покупка", "2025-01-01 11:00", {"город": "Москва"}),
    ]}, stage_rules=stages)
    assert r.funnel["stage"].tolist() == ["Осведомленность", "Покупка"]
    assert r.funnel["customers"].tolist() == [1, 1]
    assert r.journeys.loc[0, "stage_path"] == "Осведомленность>Покупка"


def test_values_with_quotes_and_sql_text_are_just_values():
    stages = [
        {"name": "a", "rules": [{"event_type": "it's'; drop table events; --"}]},
        {"name": "b", "rules": [{"event_type": "b"}]},
    ]
    r = journeys_for({"c1": [("it's'; drop table events; --", "2025-01-01 10:00")]}, stage_rules=stages)
    assert stage_of(r) == ["a"]


def test_stage_coverage_counts_unmatched_events():
    r = journeys_for({
        "c1": [("a", "2025-01-01 10:00"), ("email_open", "2025-01-01 10:01"), ("b", "2025-01-01 10:02")],
        "c2": [("email_open", "2025-01-01 10:00")],
    }, ["a", "b", "c"])
    cov = r.table("stage_coverage").set_index("stage")
    assert cov.loc["a", "events"] == 1 and cov.loc["c", "events"] == 0
    assert cov.loc["(no stage)", "events"] == 2 and cov.loc["(no stage)", "customers"] == 2
    assert abs(cov["share_of_events"].sum() - 1.0) < 1e-9
    unmatched = r.table("unmatched_event_types")
    assert unmatched[["event_type", "events"]].values.tolist() == [["email_open", 2]]

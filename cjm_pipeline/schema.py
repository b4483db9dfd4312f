"""The project's vocabulary, in one leaf module that imports nothing of the project.

What an event looks like (:data:`EVENT_COLUMNS`, :data:`IDENTIFIER_COLUMNS`), which
identifier types exist (:data:`IDENTIFIER_TYPES`), which spellings mean "no value"
(:data:`NULL_TOKENS`), which keys a stage rule may test (:data:`RULE_COLUMNS`), and which
source formats exist with their options (:data:`FORMATS`). The config checks, the format
parsers and the SQL (through the ``cfg_*`` tables) all read these names from here, so
they cannot drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

#: Unified columns of the ``events`` table that a generic source may provide.
EVENT_COLUMNS = (
    "event_time", "event_type", "event_id", "channel",
    "utm_source", "utm_medium", "utm_campaign", "url", "revenue",
)
#: Identifier columns of a generic source; each row needs at least one non-empty value.
IDENTIFIER_COLUMNS = (
    "customer_id", "anonymous_id", "user_id", "client_id", "email", "phone", "crm_contact_id",
)
CANONICAL_COLUMNS = EVENT_COLUMNS + IDENTIFIER_COLUMNS
REQUIRED_COLUMNS = ("event_time", "event_type")

#: The identifier type each generic identifier column gives (``crm_contact_id`` -> ``crm_contact``).
COLUMN_ID_TYPES = {
    "customer_id": "customer_id", "anonymous_id": "anonymous_id", "user_id": "user_id", "client_id": "client_id",
    "email": "email", "phone": "phone", "crm_contact_id": "crm_contact",
}

#: Identifier types a format parser may emit (customer-side identifiers only).
PARSER_ID_TYPES = (
    "ym_client_id", "ga_client_id", "user_id", "phone", "email",
    "crm_contact", "crm_lead", "crm_deal", "crm_company",
    "calltracking_session", "calltracking_visitor", "calltracking_client",
)
#: Every identifier type (``identifier`` = ``<type>:<value>``): the parsers' and the generic columns'.
IDENTIFIER_TYPES = tuple(dict.fromkeys((*PARSER_ID_TYPES, *COLUMN_ID_TYPES.values())))

#: Identifier types that hold personal data (hashed under ``identity.pii: hash``).
PII_TYPES = ("phone", "email")

#: Spellings that mean "no identifier" in an identifier cell (compared trimmed and lower-cased),
#: for every source: format parsers at ingest, generic columns in ``stg_events`` (``cfg_null_tokens``).
#: Other columns and properties keep these spellings as text.
NULL_TOKENS = ("", "null", "none", "nil", "undefined", "nan", "n/a", "na", "-", "0", "-1", "(null)", "#n/a")

#: Keys a stage rule may test directly; properties are written ``properties.<name>``.
RULE_COLUMNS = (
    "event_type", "channel", "utm_source", "utm_medium", "utm_campaign", "url",
    "source", "source_system",
)
PROPERTY_PREFIX = "properties."

#: The channel vocabulary every web/call/CRM format uses, so breakdowns and rules agree.
CHANNELS = ("paid", "organic", "direct", "referral", "social", "email", "messenger", "recommend",
            "internal", "saved", "phone", "crm", "offline", "other")

#: File endings a folder source picks up unless its format says otherwise.
DATA_SUFFIXES = (".csv", ".tsv", ".txt", ".json", ".ndjson", ".jsonl", ".xls", ".xlsx", ".html", ".parquet",
                 ".csv.gz", ".tsv.gz", ".json.gz", ".ndjson.gz", ".jsonl.gz")


@dataclass(frozen=True)
class FormatSpec:
    """What the config needs to know of a source format (the parsers are in ``cjm_pipeline.ingest``)."""

    summary: str
    options: dict[str, Any] = field(default_factory=dict)
    """Option name -> default value, for ``sources[i].options``."""
    system: str = ""
    """The system the data comes from (``events.source_system``); default: the format name."""
    suffixes: tuple[str, ...] = DATA_SUFFIXES
    """File name endings a folder source picks up."""
    reads_files: bool = True
    """False for a format that runs a query instead of reading files (no ``path``)."""
    timezone: str | None = None
    """The zone the vendor documents for the times it writes without one (Salesforce
    ``CreatedDate``: UTC); None when they are in the account's own zone, which the config's
    ``timezone`` gives. A source's own ``timezone:`` overrides either (:func:`naive_timezone`)."""


_METRICA_SUFFIXES = (".tsv", ".txt", ".csv", ".tsv.gz", ".txt.gz", ".csv.gz", ".json", ".ndjson", ".jsonl",
                     ".json.gz", ".ndjson.gz", ".jsonl.gz")

#: Every source format by name, in the order ``cjm formats`` lists them.
FORMATS: dict[str, FormatSpec] = {
    "generic_events": FormatSpec(
        "one event per row, CSV or Parquet (columns: renames headers)",
        suffixes=(".csv", ".tsv", ".txt", ".parquet", ".pq", ".csv.gz", ".tsv.gz"), system="generic"),
    "metrica_visits": FormatSpec(
        "Yandex Metrica Logs API visits (ym:s:) TSV, or a sync tool's JSON records: visits, goals and purchases",
        {"attribution": "auto"}, system="metrica", suffixes=_METRICA_SUFFIXES),
    "metrica_hits": FormatSpec(
        "Yandex Metrica Logs API hits (ym:pv:) TSV, or a sync tool's JSON records: page views, link clicks, downloads",
        system="metrica", suffixes=_METRICA_SUFFIXES),
    "ga4": FormatSpec(
        "GA4 BigQuery export (events_YYYYMMDD / events_intraday_YYYYMMDD) as NDJSON, JSON array or Parquet",
        suffixes=(".json", ".ndjson", ".jsonl", ".json.gz", ".ndjson.gz", ".jsonl.gz", ".parquet", ".pq"),
        timezone="UTC"),
    "amocrm": FormatSpec(
        "amoCRM / Kommo: API v4 JSON (leads, contacts, events, pipelines) and the leads UI export (CSV/HTML)",
        {
            # custom field names (or codes) -> identifier type; client_id = decide by the value
            "id_fields": {
                "PHONE": "phone", "EMAIL": "email", "Телефон": "phone", "E-mail": "email",
                "_YM_UID": "ym_client_id", "ym_client_id": "ym_client_id", "ym_clientid": "ym_client_id",
                "yandex_client_id": "ym_client_id", "metrika_client_id": "ym_client_id",
                "ClientID Яндекс": "ym_client_id", "ClientID Метрики": "ym_client_id",
                "GCLIENTID": "ga_client_id", "ga_client_id": "ga_client_id", "google_client_id": "ga_client_id",
                "_ga": "ga_client_id", "client_id": "client_id", "clientid": "client_id",
            },
            "statuses": {},
            "won_stage_names": ["Успешно реализовано", "Closed - won", "Closed won", "Успешно"],
            "lost_stage_names": ["Закрыто и не реализовано", "Closed - lost", "Closed lost", "Не реализовано"],
        }),
    "bitrix24": FormatSpec(
        "Bitrix24 CRM: REST JSON (crm.deal.list, crm.stagehistory.list, crm.contact.list, crm.lead.list, "
        "crm.status.list) or the deal list's UI export (CSV / HTML .xls)",
        {"kind": "auto", "id_fields": {}, "stages": {}, "lead_statuses": {},
         "won_stages": ["Сделка успешна", "Успешно реализовано"],
         "lost_stages": ["Сделка провалена", "Закрыто и не реализовано"]}),
    "hubspot": FormatSpec(
        "HubSpot deals: CRM API v3 JSON (deals with dealstage history, pipelines), sync tools' deal and deal "
        "property history tables (Airbyte, Fivetran, Stitch, dlt) as JSON or CSV",
        {"won_stages": ["closedwon"], "lost_stages": ["closedlost"]}, timezone="UTC"),
    "salesforce": FormatSpec(
        "Salesforce OpportunityHistory (CSV or JSON: Data Loader, REST query, Airbyte, Fivetran): stage changes "
        "as deal_stage_changed, other changes as deal_updated",
        {"won_stages": ["Closed Won"], "lost_stages": ["Closed Lost"]}, timezone="UTC",
        suffixes=(".csv", ".tsv", ".txt", ".xls", ".xlsx", ".html", ".json", ".ndjson", ".jsonl", ".csv.gz", ".tsv.gz",
                  ".json.gz", ".ndjson.gz", ".jsonl.gz")),
    "calltouch": FormatSpec(
        "Calltouch calls journal: API JSON (calls-diary) or the UI export (xlsx/CSV/HTML), one 'call' event per call",
        {"slash_dates": "dmy"}),
    "comagic": FormatSpec(
        "CoMagic / UIS / CallGear Data API get.calls_report (JSON-RPC response, JSON list or CSV), "
        "one 'call' event per call"),
    "callrail": FormatSpec(
        "CallRail API v3 calls (JSON pages, single calls, webhooks, or CSV with the API field names), one 'call' event per call",
        {"slash_dates": "mdy"}),
    "database": FormatSpec(
        "events from a SQL query (SQLAlchemy URL in an environment variable), columns as in generic_events",
        {"url_env": None, "query": None, "identifiers": {}}, suffixes=(), reads_files=False),
}


def naive_timezone(format_name: str, source_zone: str | None, config_zone: str) -> str:
    """The zone of a source's times written without one: the source's ``timezone:``, else its
    format's documented zone (:attr:`FormatSpec.timezone`), else the config's ``timezone``.

    >>> naive_timezone("salesforce", None, "Europe/Moscow"), naive_timezone("salesforce", "Asia/Tokyo", "UTC")
    ('UTC', 'Asia/Tokyo')
    >>> naive_timezone("calltouch", None, "Europe/Moscow")
    'Europe/Moscow'
    """
    spec = FORMATS.get(format_name)
    return source_zone or (spec.timezone if spec else None) or config_zone


def format_system(name: str) -> str:
    """``events.source_system`` of a format: its ``system``, else its name.

    >>> format_system("metrica_hits"), format_system("amocrm"), format_system("generic_events")
    ('metrica', 'amocrm', 'generic')
    """
    spec = FORMATS.get(name)
    return (spec.system if spec else "") or name

"""Every format module is registered, every format documented, and the catalog agrees with the parsers."""

import re
import sys
from pathlib import Path

from cjm_pipeline.ingest.registry import FETCHERS, PARSERS, registry
from cjm_pipeline.schema import FORMATS

ROOT = Path(__file__).resolve().parents[1]
INGEST = ROOT / "cjm_pipeline" / "ingest"

#: Modules of the ingest package that read no format themselves (shared helpers, parts of a format).
HELPERS = {
    "", "registry", "records", "parsing", "textfiles", "generic", "csvfile", "cells", "textstream", "jsondocs", "spreadsheets",
    "web", "web.metrica_json", "crm", "crm.common", "crm.amocrm_ui", "crm.bitrix24_fields", "crm.bitrix24_api",
    "crm.bitrix24_ui", "crm.hubspot_sync", "calls", "calls.common", "calls.values",
}


def _module_names() -> set[str]:
    names = set()
    for path in INGEST.rglob("*.py"):
        parts = path.relative_to(INGEST).with_suffix("").parts
        names.add(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return names


def _readers() -> dict[str, object]:
    return {**PARSERS, **FETCHERS}


def _family_source(reader) -> str:
    """The source of a reader's module and of the modules named after it (``bitrix24_ui.py`` ...)."""
    path = Path(sys.modules[reader.__module__].__file__)
    return "".join(p.read_text(encoding="utf-8") for p in sorted(path.parent.glob(path.stem + "*.py")))


def test_every_format_module_in_the_package_is_registered():
    prefix = "cjm_pipeline.ingest."
    owners = {fn.__module__.removeprefix(prefix) for fn in _readers().values()}
    assert _module_names() - HELPERS == owners


def test_every_format_has_a_page_and_a_readme_entry():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for name, fmt in registry().items():
        assert f"`{name}`" in readme, name
        assert f"format: {name}" in readme, f"no minimal config for {name} in the README"
        assert fmt.summary
    pages = {p.stem for p in (ROOT / "docs" / "formats").glob("*.md")}
    assert {"metrica", "ga4", "amocrm", "bitrix24", "hubspot", "salesforce", "calltouch", "comagic", "callrail",
            "database"} <= pages


def test_the_catalog_and_the_parsers_agree():
    """schema.FORMATS (what the config checks know) names exactly the formats that have a reader, a
    file format has a parse function and a query format a fetch function, and each parser reads
    exactly its catalog options: every option the catalog lists is read by its parser, and every
    option a parser reads by name is in the catalog."""
    assert set(FORMATS) == {"generic_events", *PARSERS, *FETCHERS}
    assert not set(PARSERS) & set(FETCHERS)
    for name, fmt in registry().items():
        assert FORMATS[name].reads_files == (fmt.parse is not None) == (fmt.fetch is None), name
        assert fmt.system == (FORMATS[name].system or name), name
    families: dict[str, set[str]] = {}
    for name, reader in _readers().items():
        source = _family_source(reader)
        for key in FORMATS[name].options:
            assert f'"{key}"' in source, f"{name}: option {key!r} is in the catalog but its parser never reads it"
        families.setdefault(source, set()).update(FORMATS[name].options)
    read_anywhere = set()
    for source, options in families.items():
        read = set(re.findall(r"\bopts(?:\.get\(|\[)\"(\w+)\"", source))
        assert read <= options, f"parsers read options the catalog does not list: {read - options}"
        read_anywhere |= read
    assert {"attribution", "kind", "slash_dates", "url_env"} <= read_anywhere  # the pattern still finds the reads

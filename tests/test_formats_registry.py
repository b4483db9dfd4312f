"""Every format module is registered, and every format documented."""

from pathlib import Path

from cjm_pipeline.schema import FORMATS
from cjm_pipeline.ingest.formats import FORMAT_MODULES, registry

ROOT = Path(__file__).resolve().parents[1]


def test_every_format_module_in_the_package_is_registered():
    modules = {p.stem for p in (ROOT / "cjm_pipeline" / "ingest").glob("*.py")}
    helpers = {"__init__", "formats", "records", "textfiles", "generic", "calltracking"}
    assert modules - helpers == set(FORMAT_MODULES)


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
    """schema.FORMATS (what the config checks know) names exactly the parsers' formats, with their options."""
    reg = registry()
    assert set(FORMATS) == {"generic_events", *reg}
    for name, fmt in reg.items():
        assert fmt.options == FORMATS[name].options, name
        assert fmt.system == (FORMATS[name].system or name), name
        assert fmt.suffixes == FORMATS[name].suffixes, name

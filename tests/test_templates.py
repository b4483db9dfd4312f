"""Every template in configs/templates/ runs end to end on its simulated world.

For each template, the clean world (one device per person, no identity traps, every
person's identifiers joined in some record; see cjm_pipeline.simulate) is simulated, the
template's config is copied next to it as `cjm init` does, and the whole pipeline runs. Then:

* the events are exactly the ones the truth predicts (same event ids): the writers produce
  what the ingestors read, record for record;
* every event has its true stage: the config's rules classify the simulator's touches as
  the world model means them;
* customers are the people: pairwise precision and recall over records are both 1;
* the funnel (and reached_any_order) equals the ordered funnel computed by brute force on
  the true stage paths (docs/semantics.md, "Ordered funnel").
"""

from __future__ import annotations

import pytest
import yaml
from click.testing import CliRunner

from cjm_pipeline import pipeline
from cjm_pipeline.config import load_config
from cjm_pipeline.simulate import TEMPLATES, simulate_project, world_model
from cjm_pipeline.cli import init_command
from cjm_pipeline.simulate.evaluate import score_run
from cjm_pipeline.simulate.templates import TEMPLATE_DIR, template_names

CUSTOMERS = 250
DAYS = 120


def test_there_is_one_config_per_simulated_template():
    assert template_names() == sorted(TEMPLATES)


@pytest.mark.parametrize("template", TEMPLATES)
def test_template_config_matches_its_world_model(template):
    cfg = load_config(TEMPLATE_DIR / f"{template}.yaml")
    m = world_model(template)
    assert cfg.stage_names == m.stage_names
    assert [s.name for s in cfg.sources] == m.source_names()
    # each source reads the folder the simulator writes for it, relative to the config
    assert {s.name: s.path for s in cfg.sources} == {name: f"data/{name}/" for name in m.source_names()}
    assert cfg.timezone == m.timezone
    assert cfg.warehouse == "build/cjm.duckdb" and cfg.output.dir == "build/out"


def test_classic_ru_is_classic_with_russian_stage_names():
    ru = yaml.safe_load((TEMPLATE_DIR / "classic_ru.yaml").read_text(encoding="utf-8"))
    en = yaml.safe_load((TEMPLATE_DIR / "classic.yaml").read_text(encoding="utf-8"))
    assert [s["name"] for s in ru["stages"]] == ["Осведомленность", "Интерес", "Вопрос", "Покупка", "Адвокация",
                                                "Повторная покупка"]
    assert [s["rules"] for s in ru["stages"]] == [s["rules"] for s in en["stages"]]
    assert ru["sources"] == en["sources"] and ru["identity"] == en["identity"]


@pytest.mark.slow
@pytest.mark.parametrize("template", TEMPLATES)
def test_template_runs_end_to_end_and_matches_the_truth(template, tmp_path):
    config = simulate_project(template, tmp_path, CUSTOMERS, DAYS, seed=11, identity="clean")
    cfg = load_config(config)
    result = pipeline.run(cfg, export_outputs=False)
    assert result.totals["rows_quarantined"] == 0
    score = score_run(cfg, tmp_path / "data")

    assert score["missing_events"] == [] and score["extra_events"] == []
    assert score["stages"]["agree"] == score["stages"]["events"] > 0, score["stages"]["disagree_by_signature"]
    ident = score["identity"]
    assert ident["records_without_truth"] == 0 and ident["records_split"] == 0
    assert (ident["precision"], ident["recall"]) == (1.0, 1.0), ident
    funnel = score["funnel"]
    assert funnel["pipeline"] == funnel["truth"], funnel
    assert funnel["reached_any_order"] == funnel["truth_reached_any_order"], funnel
    # a funnel worth the name: people reach its last step, and fewer than enter it
    assert 0 < funnel["truth"][-1] < funnel["truth"][0]


def test_cjm_init_copies_the_template_and_prints_the_next_commands(tmp_path):
    folder = tmp_path / "my project"
    result = CliRunner().invoke(init_command, ["--template", "health", str(folder)])
    assert result.exit_code == 0, result.output
    config = folder / "cjm.yaml"
    assert config.read_bytes() == (TEMPLATE_DIR / "health.yaml").read_bytes()
    lines = result.output.splitlines()
    assert lines[-2].strip() == f"cjm simulate --template health --customers 2000 --days 120 --seed 1 --out '{folder / 'data'}'"
    assert lines[-1].strip() == f"cjm run -c '{config}'"
    load_config(config)  # a valid config as it is

    again = CliRunner().invoke(init_command, ["--template", "travel", str(folder)])
    assert again.exit_code == 1 and "already exists" in again.output
    assert config.read_bytes() == (TEMPLATE_DIR / "health.yaml").read_bytes()
    forced = CliRunner().invoke(init_command, ["--template", "travel", "--force", str(folder)])
    assert forced.exit_code == 0 and config.read_bytes() == (TEMPLATE_DIR / "travel.yaml").read_bytes()


def test_cjm_init_rejects_an_unknown_template(tmp_path):
    result = CliRunner().invoke(init_command, ["--template", "clasic", str(tmp_path)])
    assert result.exit_code == 2 and "'clasic' is not one of" in result.output
    assert not (tmp_path / "cjm.yaml").exists()

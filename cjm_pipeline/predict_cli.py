"""``cjm predict``: where the open journeys go next, and how good such predictions were.

A command of its own module, added to the ``cjm`` group by :mod:`cjm_pipeline.cli`; it reads the
tables of the last ``cjm run`` (``journey_predictions``, ``stage_outlook``, ``prediction_quality``)
and prints :func:`cjm_pipeline.report.predict_page.predictions_text`. Errors end as every ``cjm``
command's do: one line ``Error: ...`` and exit code 1 (``cjm --debug`` shows the traceback).
"""

from __future__ import annotations

import click

from .config import load_config
from .errors import CjmError
from .pii import policy_for
from .report.predict_page import predictions_text
from .warehouse import Warehouse


@click.command("predict")
@click.option("-c", "--config", "config_path", required=True, type=click.Path(dir_okay=False),
              help="Pipeline config (YAML), e.g. configs/sample.yaml.")
@click.option("--customer", "key", metavar="KEY", help="One customer: a customer_id, an identifier written "
              "type:value (phones and e-mails in any spelling) or an event id, as for `cjm customer`.")
def predict_command(config_path: str, key: str | None) -> None:
    """Where the open journeys go next, and how good such predictions were in the back-test.

    Per stage: the journeys open in it at the data cutoff, their likeliest next stage and their
    probability of reaching the goal (the funnel's last step) within the window and ever; then the
    back-test's verdict against the naive baseline. With --customer, that customer's prediction.

    \b
    Example:
      cjm predict -c configs/sample.yaml
      cjm predict -c configs/sample_multi.yaml --customer "phone:8 (968) 931-45-26"
    """
    try:
        cfg = load_config(config_path)
        wh = Warehouse(cfg.warehouse_path, policy_for(cfg))
        meta = {"goal_stage": cfg.funnel.to_stage or cfg.stage_names[-1],
                "predict_window": cfg.predict.window or cfg.funnel.window}
        text = predictions_text(wh.predictions(key), wh.table("stage_outlook"), wh.table("prediction_quality"), meta,
                                customer=key)
    except CjmError as e:
        if click.get_current_context().find_root().params.get("debug"):
            raise
        raise click.ClickException(str(e)) from None
    click.echo(text)

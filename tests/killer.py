"""Run ``cjm run`` and kill the process (SIGKILL: no clean-up code runs) at a chosen point.

    python tests/killer.py CONFIG POINT

POINT is ``step:N`` (before the N-th step, 1-based), ``export:N`` (after the N-th exported
file), ``publish:before`` (the working copy is complete, before it is switched in),
``publish:outputs`` (the warehouse is switched, the output files are not yet) or ``never``.
Used by tests/test_publishing.py: a hook that stops at step N, as a real kill would.
"""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cjm_pipeline import export, pipeline, publish  # noqa: E402
from cjm_pipeline.config import load_config  # noqa: E402


def die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def main(config: str, point: str) -> None:
    kind, _, arg = point.partition(":")
    on_step = None
    if kind == "step":
        def on_step(step, i, n):  # noqa: ARG001
            if i == int(arg):
                die()
    elif kind == "export":
        written = [0]
        original = export.write_output

        def write_output(*args, **kwargs):
            path = original(*args, **kwargs)
            written[0] += 1
            if written[0] == int(arg):
                die()
            return path
        export.write_output = write_output
    elif kind == "publish":
        def stop(*args, **kwargs):
            die()
        setattr(publish, "publish_warehouse" if arg == "before" else "publish_outputs", stop)
    pipeline.run(load_config(config), on_step=on_step)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])

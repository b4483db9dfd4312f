"""cjm_pipeline: customer journey maps measured from data.

Python API (the CLI is a thin layer over these)::

    import cjm_pipeline as cjm
    cfg = cjm.load_config("configs/sample.yaml")
    result = cjm.run(cfg)                 # ingest, build every table, export CSVs
    wh = cjm.open("build/cjm.duckdb")     # read-only, for notebooks
    wh.funnel(); wh.transitions(); wh.journeys()

With ``engine: spark`` in the config (``configs/sample_spark.yaml``), ``cjm.run(cfg)`` builds the
tables on Apache Spark and copies them into the same warehouse, so the rest reads the same.
"""

__version__ = "0.1.0"

from .config import PipelineConfig, config_from_dict, load_config  # noqa: E402
from .errors import CjmError, ConfigError, InputDataError, StepError, WarehouseError  # noqa: E402
from .pipeline import STEPS, RunResult, run  # noqa: E402
from .warehouse import Warehouse, open  # noqa: E402,A004

__all__ = [
    "__version__", "load_config", "config_from_dict", "PipelineConfig", "run", "RunResult", "STEPS",
    "open", "Warehouse", "CjmError", "ConfigError", "InputDataError", "StepError", "WarehouseError",
]

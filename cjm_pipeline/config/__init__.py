"""The pipeline config: YAML in, typed frozen dataclasses out, every problem reported at once.

* :mod:`.model`: the dataclasses (:class:`PipelineConfig` and its sections), values typed at load;
* :mod:`.load`: :func:`load_config` / :func:`config_from_dict`, the YAML reader and structure check;
* :mod:`.checks`: the semantic checks, one per section, with "did you mean" suggestions.
"""

from ..schema import (CANONICAL_COLUMNS, EVENT_COLUMNS, IDENTIFIER_COLUMNS, IDENTIFIER_TYPES, PROPERTY_PREFIX,
                      REQUIRED_COLUMNS, RULE_COLUMNS)
from ..units import Duration, parse_duration
from .checks import check_funnel, check_funnel_stages, check_rule, check_stage_kpi, suggest
from .load import config_from_dict, funnel_with, load_config
from .model import (BREAKDOWNS, CSV_ENCODINGS, DEFAULT_BLOCKLIST, ENGINES, FUNNEL_MODES, FUNNEL_UNITS,
                    OUTPUT_FORMATS, PERIODS, PRECISIONS, EntryDate, FunnelConfig, IdentityConfig, JourneyConfig,
                    NamedFunnelConfig, OutputConfig, PipelineConfig, SourceConfig, SparkConfig, StageConfig)
from .model import AttributionConfig, PredictConfig

__all__ = [
    "load_config", "config_from_dict", "funnel_with", "PipelineConfig", "SourceConfig", "StageConfig",
    "FunnelConfig", "NamedFunnelConfig", "IdentityConfig", "JourneyConfig", "OutputConfig", "SparkConfig", "Duration",
    "EntryDate", "PredictConfig", "AttributionConfig",
    "parse_duration", "check_funnel", "check_funnel_stages", "check_rule", "check_stage_kpi", "suggest",
    "FUNNEL_MODES", "FUNNEL_UNITS", "BREAKDOWNS", "PERIODS", "PRECISIONS", "CSV_ENCODINGS", "OUTPUT_FORMATS",
    "ENGINES",
    "DEFAULT_BLOCKLIST", "EVENT_COLUMNS", "IDENTIFIER_COLUMNS", "CANONICAL_COLUMNS", "REQUIRED_COLUMNS",
    "RULE_COLUMNS", "PROPERTY_PREFIX", "IDENTIFIER_TYPES",
]

"""Pipeline configuration: the typed schema and the YAML loader."""

from automl.config.loader import ConfigError, config_from_mapping, load_config
from automl.config.schema import PipelineConfig

__all__ = ["ConfigError", "PipelineConfig", "config_from_mapping", "load_config"]

"""The study a config describes, as one `Study` object.

Its runs, jobs, paths, protocols, tables, figures and targets.

The workflow resolves its config once (`resolve`: schema, defaults, checks
across keys) and builds one `Study` from it (workflow/rules/common.smk); the
rules ask it for every target, input and parameter, one line each. Parse-time
only: this package and everything it imports stay clear of torch and
matplotlib, since every `snakemake` call and, on a cluster, every job parses
the workflow. See docs/architecture.md.
"""

from ..config import ConfigError
from .core import Study
from .jobs import TrainingGroup, TrainingJob
from .resolve import effective_config, resolve
from .settings import split_settings

__all__ = ["ConfigError", "Study", "TrainingGroup", "TrainingJob", "effective_config", "resolve", "split_settings"]

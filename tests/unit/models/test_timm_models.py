"""models/timm_models.py, the timm model names the config check knows without importing timm, against timm itself.

Run this file as a script (`PYTHONPATH=src .venv/bin/python tests/unit/models/test_timm_models.py`) to write
the module again after timm is upgraded.
"""

import textwrap
from pathlib import Path

import timm

from galaxy_pretraining.models import timm_models

MODULE = Path(timm_models.__file__)


def module_text() -> str:
    """The module as the installed timm gives it."""
    names = textwrap.fill(" ".join(sorted(timm.list_models())), width=116, break_long_words=False,
                          break_on_hyphens=False)
    return (f'"""The model names of timm {timm.__version__} (timm.list_models()), as plain data: the config check\n'
            "reads them when the workflow parses, without importing timm (which imports torch). Written by\n"
            'tests/unit/models/test_timm_models.py (run as a script), which also checks them against timm."""\n\n'
            f'TIMM_VERSION = "{timm.__version__}"\n'
            f'TIMM_MODELS = frozenset("""\n{names}\n""".split())\n')


def test_the_names_are_the_installed_timms():
    assert timm_models.TIMM_VERSION == timm.__version__, \
        f"timm is {timm.__version__}; write {MODULE} again: run {__file__} as a script"
    assert timm_models.TIMM_MODELS == set(timm.list_models())


if __name__ == "__main__":
    MODULE.write_text(module_text())
    print(f"wrote {MODULE} (timm {timm.__version__}, {len(timm.list_models())} models)")  # noqa: T201 (run by hand: its output)

"""The locked environment: the tests run in exactly requirements.lock, and the rules' conda env has its pins."""

import re

import pytest
import yaml

from galaxy_pretraining_tools.environment import conda_env_text, conda_pins, installed, mismatches, read_lock

from helpers.paths import ROOT

LOCK = ROOT / "requirements.lock"
CONDA_ENV = ROOT / "workflow/envs/galaxy-pretraining.yaml"


def test_the_environment_the_tests_run_in_is_exactly_the_lock():
    """Every installed distribution is locked at its installed version, and every locked one is installed."""
    problems = mismatches(read_lock(LOCK), installed())
    assert not problems, "the environment differs from requirements.lock (run `make setup`):\n" + "\n".join(problems)


def test_the_rules_conda_environment_has_the_locks_pins_and_is_up_to_date():
    lock = read_lock(LOCK)
    assert conda_pins(CONDA_ENV) == lock
    assert CONDA_ENV.read_text() == conda_env_text(lock), "run `make lock` to write the conda env from the lock"
    env = yaml.safe_load(CONDA_ENV.read_text())
    assert env["channels"] == ["conda-forge", "nodefaults"] and "pip" in env["dependencies"]


def rule_blocks():
    """(file, rule name, text of the rule's block) for every rule of the workflow's rule files."""
    for path in sorted((ROOT / "workflow/rules").glob("*.smk")):
        text = path.read_text()
        starts = [m for m in re.finditer(r"^(\s*)rule (\w+):", text, re.M)]
        for m, following in zip(starts, starts[1:] + [None]):
            yield path, m.group(2), text[m.start(): following.start() if following else len(text)]


def test_every_rule_names_the_conda_environment():
    common = (ROOT / "workflow/rules/common.smk").read_text()
    named = re.search(r'^CONDA_ENV = "([^"]+)"', common, re.M)
    assert named, "common.smk defines CONDA_ENV"
    # Snakemake resolves a rule's conda path against the rule file's folder.
    assert (ROOT / "workflow/rules" / named.group(1)).resolve() == CONDA_ENV
    blocks = list(rule_blocks())
    assert len(blocks) >= 10
    missing = [f"{path.name}: {name}" for path, name, block in blocks
               if not re.search(r"^\s*conda:\s*\n\s*CONDA_ENV\s*$", block, re.M)]
    assert not missing, f"rules without `conda: CONDA_ENV`: {missing}"


def test_lock_lines_must_be_exact_pins(tmp_path):
    lock = tmp_path / "requirements.lock"
    lock.write_text("# comment\nnumpy==2.4.6\n\npandas>=2\n")
    with pytest.raises(ValueError, match=r"requirements.lock, line 4: 'pandas>=2' is not an exact pin"):
        read_lock(lock)
    lock.write_text("Pillow==13.0.0\npillow==12.0.0\n")
    with pytest.raises(ValueError, match="line 2: pillow is pinned twice"):
        read_lock(lock)


def test_mismatches_name_missing_extra_and_other_versions():
    lock = {"numpy": ("numpy", "2.4.6"), "pandas": ("pandas", "3.1.1"), "scipy": ("scipy", "1.17.1")}
    env = {"numpy": ("numpy", "2.4.6"), "pandas": ("pandas", "3.0.0"), "rich": ("rich", "14.0.0")}
    assert mismatches(lock, env) == [
        "pandas: locked 3.1.1, installed 3.0.0",
        "rich==14.0.0 is installed but not in the lock",
        "scipy==1.17.1 is locked but not installed",
    ]

"""The locked Python environment.

`requirements.lock`, the check that an environment is exactly it, and the conda environment of the rules written
from it.

`make lock` resolves pyproject.toml's dependencies afresh in a new virtual
environment and writes every installed distribution with its exact version
(`pip freeze`) to requirements.lock; `make` installs from that file; the
test suite fails when the environment it runs in differs from it; and
`workflow/envs/galaxy-pretraining.yaml` is written from it, so the conda
environment of every rule carries the same pins.

    python -m galaxy_pretraining_tools.environment conda-env requirements.lock workflow/envs/galaxy-pretraining.yaml
    python -m galaxy_pretraining_tools.environment check requirements.lock
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
from pathlib import Path

from galaxy_pretraining.io import atomic_path

# The one package that is not locked: this repository's own library, installed editable from the clone.
OWN_PACKAGE = "galaxy-pretraining"
# The Python of the conda environment: the version CI and the lock were made with.
CONDA_PYTHON = "3.11"
CONDA_HEADER = """\
# The conda environment of every rule (`snakemake --software-deployment-method conda`).
# Written from requirements.lock by `make lock`; do not edit by hand (a test checks that the pins
# equal the lock's). The library itself (src/galaxy_pretraining) is not a conda package: the
# workflow's scripts import it from the clone (see docs/development.md). UNTESTED: never solved and
# never run, since no conda channel is reachable where it is written; what is tested is requirements.lock
# installed with pip into a venv. .snakemake-workflow-catalog.yml therefore says `conda: false`.
"""

_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;#]+)\s*$")


def normalize(name: str) -> str:
    """A distribution name as pip compares them (PEP 503): lower case, runs of -_. as one -."""
    return re.sub(r"[-_.]+", "-", name).lower()


def read_lock(path: os.PathLike) -> dict[str, tuple[str, str]]:
    """Normalized name -> (name as written, exact version) of every `name==version` line of a lock file.

    Comments and blank lines are skipped; any other line is an error naming the file and the line.
    """
    pins = {}
    for number, line in enumerate(Path(path).read_text().splitlines(), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        match = _PIN.match(stripped)
        if match is None:
            raise ValueError(f"{path}, line {number}: {stripped!r} is not an exact pin `name==version`")
        name, version = match.groups()
        if normalize(name) in pins:
            raise ValueError(f"{path}, line {number}: {name} is pinned twice")
        pins[normalize(name)] = (name, version)
    return pins


def installed(python: str = sys.executable) -> dict[str, tuple[str, str]]:
    """What an interpreter's environment holds, as `pip freeze` lists it.

    This repository's library is left out.
    """
    frozen = subprocess.run([python, "-m", "pip", "freeze", "--exclude-editable", "--disable-pip-version-check"],
                            check=True, capture_output=True, text=True).stdout
    pins = {}
    for line in filter(None, (raw.strip() for raw in frozen.splitlines())):
        match = _PIN.match(line)
        # `name @ file://...` was not installed from an index: it can never equal a pin of the lock
        name, version = match.groups() if match else (re.split(r"[\s@=]", line)[0], f"not from an index ({line})")
        if normalize(name) != OWN_PACKAGE:
            pins[normalize(name)] = (name, version)
    return pins


def mismatches(lock: dict, environment: dict) -> list[str]:
    """One line per difference between a lock and an environment: missing, extra, or another version."""
    problems = []
    for key in sorted(lock.keys() | environment.keys()):
        if key not in environment:
            problems.append(f"{lock[key][0]}=={lock[key][1]} is locked but not installed")
        elif key not in lock:
            problems.append(f"{environment[key][0]}=={environment[key][1]} is installed but not in the lock")
        elif lock[key][1] != environment[key][1]:
            problems.append(f"{lock[key][0]}: locked {lock[key][1]}, installed {environment[key][1]}")
    return problems


def conda_env_text(lock: dict) -> str:
    """The conda environment file of the rules: conda's Python and pip, then every pin of the lock via pip."""
    lines = [CONDA_HEADER.rstrip("\n"), "channels:", "  - conda-forge", "  - nodefaults", "dependencies:",
             f"  - python={CONDA_PYTHON}", "  - pip", "  - pip:"]
    lines += [f"      - {name}=={version}" for _, (name, version) in sorted(lock.items())]
    return "\n".join(lines) + "\n"


def conda_pins(env_path: os.PathLike) -> dict[str, tuple[str, str]]:
    """The pip pins of a conda environment file, like read_lock's."""
    import yaml

    env = yaml.safe_load(Path(env_path).read_text())
    pips = [d["pip"] for d in env.get("dependencies", []) if isinstance(d, dict) and "pip" in d]
    pins = {}
    for spec in (pips[0] if pips else []):
        match = _PIN.match(spec.strip())
        if match is None:
            raise ValueError(f"{env_path}: pip requirement {spec!r} is not an exact pin `name==version`")
        pins[normalize(match.group(1))] = match.groups()
    return pins


def main(argv=None) -> int:
    """Command line: write the conda environment from the lock, or check the running one against it."""
    parser = argparse.ArgumentParser(prog="python -m galaxy_pretraining_tools.environment", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    conda = commands.add_parser("conda-env", help="write the rules' conda environment from the lock")
    conda.add_argument("lock")
    conda.add_argument("env")
    check = commands.add_parser("check", help="exit 1, listing the differences, unless this environment is the lock")
    check.add_argument("lock")
    args = parser.parse_args(argv)
    lock = read_lock(args.lock)
    if args.command == "conda-env":
        with atomic_path(args.env) as tmp:
            Path(tmp).write_text(conda_env_text(lock))
        return 0
    problems = mismatches(lock, installed())
    for problem in problems:
        print(problem, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())

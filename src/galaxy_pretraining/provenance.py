"""What made an output: git commit and dirtiness, the lock file's digest, the host and the SLURM job.

No torch here: the training job adds the torch, CUDA and cuDNN versions (training.accounting).

Every value is a string that says what it is or why it is unknown (never a
blank), so that a table of them (tables/provenance.csv) can be read alone.
"""

from __future__ import annotations

import functools
import hashlib
import os
import platform
import socket
import subprocess
from pathlib import Path

LOCK_FILE = "requirements.lock"

# SLURM's variables for the job, its array and its requeues (sbatch(1), "OUTPUT ENVIRONMENT VARIABLES").
SLURM_VARIABLES = {
    "slurm_job_id": "SLURM_JOB_ID",
    "slurm_array_job_id": "SLURM_ARRAY_JOB_ID",
    "slurm_array_task_id": "SLURM_ARRAY_TASK_ID",
    "slurm_restart_count": "SLURM_RESTART_COUNT",
}
NOT_SLURM = "none (not a SLURM job)"

# The columns of tables/provenance.csv that must agree across a study's runs (the report warns otherwise).
SHARED_FIELDS = ("commit", "dirty", "lock_digest", "torch_version", "cuda_version", "cudnn_version")


def source_folder() -> Path:
    """The folder this package's source was imported from."""
    return Path(__file__).resolve().parent


def _git(folder: Path, *arguments: str) -> str:
    return subprocess.run(["git", "-C", str(folder), *arguments], capture_output=True, text=True, check=True,
                          timeout=30).stdout.strip()


def git_state(folder: os.PathLike | None = None) -> dict[str, str]:
    """{commit, dirty, source} of the git work tree holding `folder` (default: this package's source).

    `commit` is the full hash of HEAD, `dirty` "true" when a tracked file differs from it or an untracked,
    not ignored file is present, else "false"; outside a work tree (an installed package) or without git, both say
    why they are unknown.
    """
    folder = Path(folder) if folder is not None else source_folder()
    try:
        root = _git(folder, "rev-parse", "--show-toplevel")
        commit = _git(folder, "rev-parse", "HEAD")
        dirty = "true" if _git(folder, "status", "--porcelain") else "false"
    except FileNotFoundError:
        reason = "unknown (git is not installed)"
        return {"commit": reason, "dirty": reason, "source": str(folder)}
    except subprocess.CalledProcessError as error:
        reason = f"unknown ({folder} is not in a git work tree: {error.stderr.strip().splitlines()[-1:]})"
        return {"commit": reason, "dirty": reason, "source": str(folder)}
    return {"commit": commit, "dirty": dirty, "source": root}


def lock_digest(root: os.PathLike) -> str:
    """sha256:<hex> of `root`/requirements.lock, or why there is none."""
    path = Path(root) / LOCK_FILE
    if not path.is_file():
        return f"unknown (no {LOCK_FILE} in {root})"
    return "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()


def slurm_job(environ: os.Mapping | None = None) -> dict[str, str]:
    """The SLURM job id, array job and task ids and restart count, read from the environment.

    Each is NOT_SLURM outside a SLURM job, "none (not an array job)" for the
    array fields of a plain job, and "0" restarts when unset.
    """
    environ = os.environ if environ is None else environ
    if "SLURM_JOB_ID" not in environ:
        return {key: NOT_SLURM for key in SLURM_VARIABLES}
    found = {key: environ.get(variable, "") for key, variable in SLURM_VARIABLES.items()}
    for key in ("slurm_array_job_id", "slurm_array_task_id"):
        found[key] = found[key] or "none (not an array job)"
    found["slurm_restart_count"] = found["slurm_restart_count"] or "0"
    return found


@functools.cache
def _source_provenance() -> tuple[tuple[str, str], ...]:
    state = git_state()
    root = state["source"]
    return tuple({**state, "lock_digest": lock_digest(root)}.items())


def job_provenance() -> dict[str, str]:
    """Commit, dirty, source, lock digest, Python version, host and SLURM job of this process (git asked once)."""
    return {**dict(_source_provenance()), "python_version": platform.python_version(), "host": socket.gethostname(),
            **slurm_job()}


# What each epoch's metrics row records of the attempt that trained it (training.live), per run in provenance.csv.
RUN_FIELDS = ("commit", "dirty", "lock_digest", "torch_version", "cuda_version", "cudnn_version", "device", "host",
              "slurm_job_id")


def provenance_table(curves):
    """One row per model, run and attempt: the RUN_FIELDS its epochs were trained under, first and last epoch.

    Standard and long runs alike; runs whose metrics predate these columns say so.
    """
    import pandas as pd

    missing = [field for field in (*RUN_FIELDS, "attempt") if field not in curves]
    if missing:
        curves = curves.assign(**{field: "unknown (metrics from before provenance was recorded)"
                                  for field in missing if field != "attempt"},
                               **({"attempt": 1} if "attempt" in missing else {}))
    trained = curves.dropna(subset=["attempt"])
    keys = ["model", "long_run", "run", "attempt"]
    table = trained.groupby(keys, sort=True).agg(
        first_epoch=("epoch", "min"), last_epoch=("epoch", "max"),
        **{field: (field, "first") for field in RUN_FIELDS}).reset_index()
    table["attempt"] = table["attempt"].astype(int)
    return pd.DataFrame(table)


def provenance_differences(table) -> dict[str, list[str]]:
    """{field: its distinct values} for each of SHARED_FIELDS on which the rows of a provenance table differ."""
    return {field: sorted(map(str, table[field].unique())) for field in SHARED_FIELDS
            if field in table and table[field].nunique() > 1}


def provenance_summary(path: os.PathLike) -> str:
    """One paragraph for the report: the commit, lock and versions that made the study's runs.

    Read from tables/provenance.csv at `path`; a WARNING names each field on
    which the runs differ; "" when the table is not made yet.
    """
    import pandas as pd

    if not Path(path).exists():
        return ""
    table = pd.read_csv(path, dtype=str)
    if table.empty:
        return ""
    first = table.iloc[0]
    text = (f"Made by commit {first['commit']} (dirty: {first['dirty']}), requirements.lock {first['lock_digest']}, "
            f"torch {first['torch_version']}, CUDA {first['cuda_version']}, cuDNN {first['cudnn_version']}, on "
            f"{', '.join(sorted(table['device'].unique()))}.")
    differences = provenance_differences(table)
    if differences:
        text += " WARNING: the runs of this study differ in " + "; ".join(
            f"{field} ({', '.join(values)})" for field, values in differences.items()) + "."
    return text

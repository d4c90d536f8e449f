"""What made an output: git commit and dirtiness, the lock file's digest, the host and the SLURM job.

No torch here: the training job adds the torch, CUDA and cuDNN versions (training.accounting).

Every value is a string that says what it is or why it is unknown (never a
blank), so that a table of them (tables/provenance.csv) can be read alone,
but `dirty`, a boolean: True when a tracked file differs from the commit,
False when none does, null (pandas' nullable "boolean" NA) when unknown, and
then `commit` says why (not a git work tree, no git). Untracked files (logs,
a `.venv` link) do not make a tree dirty: they are not part of the source.
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


def git_state(folder: os.PathLike | None = None) -> dict[str, str | bool | None]:
    """{commit, dirty, source} of the git work tree holding `folder` (default: this package's source).

    `commit` is the full hash of HEAD; `dirty` True when a tracked file differs from it (staged or not), False
    when none does; untracked files do not count. Outside a work tree (an installed package) or without git,
    `dirty` is None and `commit` says why it is unknown.
    """
    folder = Path(folder) if folder is not None else source_folder()
    try:
        root = _git(folder, "rev-parse", "--show-toplevel")
        commit = _git(folder, "rev-parse", "HEAD")
        dirty = bool(_git(folder, "status", "--porcelain", "--untracked-files=no"))
    except FileNotFoundError:
        return {"commit": "unknown (git is not installed)", "dirty": None, "source": str(folder)}
    except subprocess.CalledProcessError as error:
        reason = f"unknown ({folder} is not in a git work tree: {error.stderr.strip().splitlines()[-1:]})"
        return {"commit": reason, "dirty": None, "source": str(folder)}
    return {"commit": commit, "dirty": dirty, "source": root}


def as_dirty(values):
    """A column of `dirty` values as pandas' nullable boolean (True, False, NA where unknown).

    Also reads the strings of older outputs and of a CSV ("true"/"True", "false"/"False"); anything else is NA.
    """
    import pandas as pd

    words = {"true": True, "false": False}
    return pd.Series(values).map(
        lambda v: v if isinstance(v, bool) else words.get(str(v).strip().lower())).astype("boolean")


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
def _source_provenance() -> tuple[tuple[str, str | bool | None], ...]:
    state = git_state()
    root = state["source"]
    return tuple({**state, "lock_digest": lock_digest(root)}.items())


def job_provenance() -> dict[str, str | bool | None]:
    """Commit, dirty, source, lock digest, Python version, host and SLURM job of this process.

    Git is asked once.
    """
    return {**dict(_source_provenance()), "python_version": platform.python_version(), "host": socket.gethostname(),
            **slurm_job()}


# What each epoch's metrics row records of the attempt that trained it (training.live), per run in provenance.csv.
RUN_FIELDS = ("commit", "dirty", "lock_digest", "torch_version", "cuda_version", "cudnn_version", "device", "host",
              "slurm_job_id")


def provenance_table(curves):
    """One row per model, run and attempt.

    The RUN_FIELDS its epochs were trained under, and its first and last epoch.

    Standard and long runs alike; runs whose metrics predate these columns say so.
    """
    import pandas as pd

    missing = [field for field in (*RUN_FIELDS, "attempt") if field not in curves]
    if missing:
        curves = curves.assign(**{field: "unknown (metrics from before provenance was recorded)"
                                  for field in missing if field != "attempt"},
                               **({"attempt": 1} if "attempt" in missing else {}))
    curves = curves.assign(dirty=as_dirty(curves["dirty"]).array)
    trained = curves.dropna(subset=["attempt"])
    keys = ["model", "long_run", "run", "attempt"]
    table = trained.groupby(keys, sort=True).agg(
        first_epoch=("epoch", "min"), last_epoch=("epoch", "max"),
        **{field: (field, "first") for field in RUN_FIELDS}).reset_index()
    table["attempt"] = table["attempt"].astype(int)
    table["dirty"] = as_dirty(table["dirty"]).array
    return pd.DataFrame(table)


def provenance_differences(table) -> dict[str, list[str]]:
    """{field: its distinct values} for each SHARED_FIELDS field on which a provenance table's rows differ."""
    return {field: sorted(map(str, table[field].unique())) for field in SHARED_FIELDS
            if field in table and table[field].nunique(dropna=False) > 1}


DIRTY_WORDS = {True: "dirty (tracked files changed)", False: "clean", None: "unknown"}


def provenance_summary(path: os.PathLike) -> str:
    """One paragraph for the report: the commit, lock and versions that made the study's runs.

    Read from tables/provenance.csv at `path`. A field on which the runs
    differ reads "several" in the headline, and a WARNING names its values;
    "" when the table is not made yet.
    """
    import pandas as pd

    if not Path(path).exists():
        return ""
    table = pd.read_csv(path, dtype=str, keep_default_na=False)
    if table.empty:
        return ""
    table["dirty"] = [DIRTY_WORDS[None if pd.isna(v) else bool(v)] for v in as_dirty(table["dirty"])]
    differences = provenance_differences(table)

    def value(field: str) -> str:
        return f"several ({len(differences[field])}; see the WARNING)" if field in differences else table[field].iloc[0]

    text = (f"Made by: commit {value('commit')}, tree {value('dirty')}, requirements.lock {value('lock_digest')}, "
            f"torch {value('torch_version')}, CUDA {value('cuda_version')}, cuDNN {value('cudnn_version')}, on "
            f"{', '.join(sorted(table['device'].unique()))}.")
    if differences:
        text += " WARNING: the runs of this study differ in " + "; ".join(
            f"{field} ({', '.join(values)})" for field, values in differences.items()) + "."
    return text

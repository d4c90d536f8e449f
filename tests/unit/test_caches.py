"""Caches in folders the workflow owns: torch.compile's shared cache used by every job, nothing under a read-only home.

Each job is a process of its own here, as on a cluster: the compile cache must be
chosen before torch is imported, which an in-process test could not show.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from galaxy_pretraining.caches import HOME_CACHES, use_compile_cache, use_workflow_caches

from helpers.read_only import needs_read_only_mounts, read_only

# A training job's start as workflow/scripts/train.py makes it: the cache chosen, then torchvision imported (the
# import that used to write torch's default into TORCHINDUCTOR_CACHE_DIR first), then a compiled step: a tiny
# function, so that the CPU compile (gcc) takes seconds.
JOB = """
import json, sys
from galaxy_pretraining.caches import use_compile_cache
chosen = use_compile_cache(None if sys.argv[1] == "none" else sys.argv[1])
import torchvision  # noqa: F401
import torch
from torch._dynamo.utils import counters
step = torch.compile(lambda x: (x.sin() * 2 + 1).sum())
step(torch.ones(8))
print(json.dumps({"chosen": str(chosen), "inductor": dict(counters["inductor"])}))
"""


def job(cache, tmp_path, *, code: str = JOB, read_only_folder: Path | None = None, **env) -> subprocess.CompletedProcess:
    """One job in a fresh process, TMPDIR in `tmp_path` (where torch's own default cache would go), and no
    TORCHINDUCTOR_CACHE_DIR but one in `env` (this test process may have imported torchvision, which sets it)."""
    (tmp_path / "tmp").mkdir(exist_ok=True)
    environment = {key: value for key, value in os.environ.items() if key != "TORCHINDUCTOR_CACHE_DIR"}
    environment.update(TMPDIR=str(tmp_path / "tmp"), **env)
    command = [sys.executable, "-c", code, str(cache)]
    if read_only_folder is not None:
        command = read_only(read_only_folder, command)
    return subprocess.run(command, capture_output=True, text=True, timeout=600, env=environment, cwd=tmp_path)


def compiled_files(folder: Path) -> list[Path]:
    return [path for path in folder.rglob("*") if path.is_file()] if folder.exists() else []


@pytest.mark.slow
def test_a_second_job_compiles_from_the_artefacts_the_first_job_left_in_the_configured_cache(tmp_path):
    cache = tmp_path / "shared/torch-compile-cache"  # created by the first job
    first = job(cache, tmp_path)
    assert first.returncode == 0, first.stderr[-3000:]
    assert json.loads(first.stdout.splitlines()[-1])["inductor"].get("fxgraph_cache_miss") == 1
    assert compiled_files(cache / "fxgraph"), compiled_files(cache)
    # nothing compiled in torch's per-node default ($TMPDIR/torchinductor_<user>) but the C++ precompiled headers
    # of CPU kernels, which torch always keeps there
    assert not [path for path in compiled_files(tmp_path / "tmp") if "precompiled_headers" not in path.parts]

    second = job(cache, tmp_path)
    assert second.returncode == 0, second.stderr[-3000:]
    counts = json.loads(second.stdout.splitlines()[-1])["inductor"]
    assert counts.get("fxgraph_cache_hit") == 1 and not counts.get("fxgraph_cache_miss"), counts


def test_the_users_own_TORCHINDUCTOR_CACHE_DIR_wins_over_the_config(tmp_path):
    code = "import sys; from galaxy_pretraining.caches import use_compile_cache; print(use_compile_cache(sys.argv[1]))"
    result = job(tmp_path / "configured", tmp_path, code=code, TORCHINDUCTOR_CACHE_DIR=str(tmp_path / "users"))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(tmp_path / "users")
    assert (tmp_path / "users").is_dir() and not (tmp_path / "configured").exists()


def test_a_compile_cache_that_cannot_be_created_stops_the_job_naming_the_folder_and_the_key(tmp_path):
    (tmp_path / "scratch").write_text("a file, not a folder")
    result = job(tmp_path / "scratch/torch-compile-cache", tmp_path)
    assert result.returncode != 0
    assert f"config key train_resources.compile_cache: the compile cache {tmp_path}/scratch/torch-compile-cache " \
           "cannot be created or written (Not a directory)" in result.stderr, result.stderr[-2000:]


def test_a_job_that_never_compiles_makes_and_checks_no_cache_folder(tmp_path):
    """training.compile false: an unwritable compile_cache (a CPU run in a clone whose resources/ is read-only)
    stops nothing, and no folder is made."""
    (tmp_path / "scratch").write_text("a file, not a folder")
    environ = {}
    assert use_compile_cache(tmp_path / "scratch/cache", compiles=False, environ=environ) is None
    assert environ == {} and (tmp_path / "scratch").is_file()


def test_an_unwritable_cache_from_the_environment_is_named_with_what_to_do_there(tmp_path):
    (tmp_path / "scratch").write_text("a file, not a folder")
    result = job(tmp_path / "cache", tmp_path, TORCHINDUCTOR_CACHE_DIR=str(tmp_path / "scratch/cache"))
    assert result.returncode != 0
    assert (f"environment variable TORCHINDUCTOR_CACHE_DIR: the compile cache {tmp_path}/scratch/cache cannot be "
            "created or written (Not a directory); give a writable folder, or unset it for torch's default under "
            "/tmp") in result.stderr, result.stderr[-2000:]


def test_a_compile_cache_on_a_read_only_file_system_stops_the_job_naming_it(tmp_path):
    """The case compile-cache-ignored: the cache on a read-only file system ran without a word."""
    needs_read_only_mounts()
    shared = tmp_path / "shared"
    shared.mkdir()
    result = job(shared / "torch-compile-cache", tmp_path, read_only_folder=shared)
    assert result.returncode != 0
    assert f"the compile cache {shared}/torch-compile-cache cannot be created or written (Read-only file system)" \
        in result.stderr, result.stderr[-2000:]


def test_the_compile_cache_is_refused_once_torch_is_imported(tmp_path):
    """Too late: torch's own default may be in the environment already, indistinguishable from a user's choice."""
    code = "import sys, torch; from galaxy_pretraining.caches import use_compile_cache; use_compile_cache(sys.argv[1])"
    result = job(tmp_path / "cache", tmp_path, code=code)
    assert result.returncode != 0 and "before torch is imported" in result.stderr, result.stderr[-2000:]


def test_the_home_caches_go_under_the_workflows_folder_unless_the_user_set_them(tmp_path):
    environ = {"MPLCONFIGDIR": "/users/own/matplotlib"}
    chosen = use_workflow_caches(tmp_path / ".cache", environ)
    assert environ["MPLCONFIGDIR"] == "/users/own/matplotlib" and "MPLCONFIGDIR" not in chosen
    assert environ["XDG_CACHE_HOME"] == str(tmp_path / ".cache")
    assert environ["CUDA_CACHE_PATH"] == str(tmp_path / ".cache/nv")
    assert set(chosen) == set(HOME_CACHES) - {"MPLCONFIGDIR"}

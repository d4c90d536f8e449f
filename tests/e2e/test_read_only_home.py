"""A read-only home stops nothing (case home-readonly): compute nodes and containers often mount $HOME read-only.

The case's whole study runs under the shipped local profile with HOME on a
read-only mount, as a user would run it (about 40 s on 2 cores).
"""

import os
import subprocess

import pytest
import yaml

from helpers.configs import cluster_case_config
from helpers.read_only import needs_read_only_mounts, read_only

pytestmark = pytest.mark.slow

# Set by the user, these would move the caches themselves (the case's workaround); a test process may also have
# imported torchvision, which sets TORCHINDUCTOR_CACHE_DIR.
CACHE_VARIABLES = ("XDG_CACHE_HOME", "MPLCONFIGDIR", "CUDA_CACHE_PATH", "TORCH_HOME", "TORCHINDUCTOR_CACHE_DIR")


def read_only_home(tmp_path) -> tuple[dict, os.PathLike]:
    """An environment whose HOME is an empty folder, and that folder (to be mounted read-only)."""
    home = tmp_path / "home"
    home.mkdir()
    env = {key: value for key, value in os.environ.items() if key not in CACHE_VARIABLES}
    return {**env, "HOME": str(home)}, home


def test_the_whole_study_runs_under_the_local_profile_with_a_read_only_home(root, tmp_path, snakemake_exe):
    needs_read_only_mounts()
    config = cluster_case_config("home-readonly")
    config["train_resources"] = {"threads": 1}
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))
    env, home = read_only_home(tmp_path)
    work = tmp_path / "work"
    command = [snakemake_exe, "-s", str(root / "Snakefile"), "-d", str(work), "--configfile",
               str(tmp_path / "config.yaml"), "--profile", str(root / "profiles/local"), "--cores", "2"]
    result = subprocess.run(read_only(home, command), capture_output=True, text=True, timeout=900, env=env)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-4000:]
    assert "Read-only file system" not in result.stderr

    # Every figure drawn, and no job tried the home: matplotlib's font cache built once, under the working directory.
    figures = work / "results/home-readonly/figures"
    assert any(figures.glob("*.png"))
    logs = [path for path in (work / "results/home-readonly/logs").rglob("*.log")]
    complaints = [path.name for path in logs if str(home) in path.read_text() or "MPLCONFIGDIR" in path.read_text()]
    assert logs and not complaints, complaints
    assert list((work / ".cache/matplotlib").glob("fontlist-*.json"))
    assert not any(home.iterdir())


def test_a_dry_run_under_the_slurm_profile_with_a_read_only_home(root, tmp_path, snakemake_exe):
    """What a user first runs on a login node or in a container whose home is read-only."""
    needs_read_only_mounts()
    env, home = read_only_home(tmp_path)
    command = [snakemake_exe, "-n", "--profile", "slurm", "--configfile", "config/demo.yaml"]
    result = subprocess.run(read_only(home, command), capture_output=True, text=True, timeout=600, env=env, cwd=root)
    assert result.returncode == 0, result.stderr[-4000:]
    assert "rule train_" in result.stdout

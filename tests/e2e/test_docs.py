"""The README and the docs cannot drift: every command they show runs or dry-runs here, and every count of a DAG
they state is a generated block that matches a dry run of today's code.

Commands are the lines of ```bash blocks (comments dropped, backslash continuations joined). Each is checked the
way a user's run of it can be checked offline, in a test:
- `make <target>`: `make -n <target>` (the target exists and its recipe expands);
- `snakemake ...` (or `.venv/bin/snakemake ...`): the same command with `-n`, from the root of a fresh copy of
  the repository (its tracked files: no results yet); `--report <file>` is dropped, since a report is written
  even under `-n` (the end-to-end tests make the demo's report);
- `python -m pytest ...`: with `--collect-only`;
- `python benchmarks/<name>.py ...` or `python benchmarks/<package> ...`: `--help`, and every option the command uses is one the script has;
- `python -m galaxy_pretraining.<module> ...`: `--help`;
- `source .venv/bin/activate`, `cd <folder>`: the file or folder exists (after `make setup`);
- `git clone <url> [folder]`: not run (no network here); the URL must name a git repository.
Any other command fails the test: a command the docs show must be one of these kinds.
"""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from galaxy_pretraining_tools import dag_counts

from helpers.paths import ROOT

BIN = Path(sys.executable).parent
DOCS = sorted([ROOT / "README.md", *(ROOT / "docs").rglob("*.md"), *(ROOT / "config").glob("*.md"),
               *(ROOT / "resources").glob("*.md")])
FENCE = re.compile(r"^```bash\n(.*?)^```", re.M | re.S)


def commands(path: Path) -> list[str]:
    found = []
    for block in FENCE.findall(path.read_text()):
        joined = re.sub(r"\\\n\s*", " ", block)
        for line in joined.splitlines():
            line = re.sub(r"(^|\s)#.*$", "", line).strip()
            if line:
                found.append(line)
    return found


ALL = [(path.relative_to(ROOT).as_posix(), command) for path in DOCS for command in commands(path)]
GZ1 = ROOT.parent / "shared/data/gz1-sdss/labels.csv"  # the gz1-sdss configs' sample, beside the repository
NEEDS_GZ1 = pytest.mark.skipif(not GZ1.exists(), reason=f"the gz1-sdss sample is not at {GZ1.parent}")


@pytest.fixture(scope="module")
def clone(tmp_path_factory) -> Path:
    """A fresh copy of the repository: what git tracks (and new files it would track), no results, no venv."""
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                            capture_output=True, check=True).stdout.decode().split("\0")
    beside = tmp_path_factory.mktemp("checkout")
    if (ROOT.parent / "shared").is_dir():  # the gz1-sdss configs read ../shared/data/gz1-sdss, as in CI's layout
        (beside / "shared").symlink_to(ROOT.parent / "shared")
    target = beside / "galaxy-pretraining"
    for name in filter(None, listed):
        source = ROOT / name
        if source.is_file() or source.is_symlink():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            if source.is_symlink():
                (target / name).symlink_to(source.readlink())
            else:
                shutil.copy2(source, target / name)
    return target


def run(command: list[str], where: Path, timeout: int = 600) -> subprocess.CompletedProcess:
    return subprocess.run(command, cwd=where, capture_output=True, text=True, timeout=timeout,
                          env={"PATH": f"{BIN}:/usr/bin:/bin", "HOME": str(Path.home())})


def without_report(words: list[str]) -> list[str]:
    kept, skip = [], False
    for word in words:
        if skip:
            skip = False
        elif word == "--report":
            skip = True
        elif not word.startswith("--report="):
            kept.append(word)
    return kept


def check_command(line: str, clone: Path) -> None:
    words = shlex.split(line)
    program = words[0]
    if program == "make":
        assert len(words) == 2, line
        result = run(["make", "-n", words[1]], clone)
        assert result.returncode == 0, result.stderr
    elif program in ("snakemake", ".venv/bin/snakemake"):
        result = run([str(BIN / "snakemake"), *without_report(words[1:]), "-n"], clone)
        assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    elif words[:3] == ["python", "-m", "pytest"]:
        result = run([sys.executable, "-m", "pytest", *words[3:], "--collect-only", "-q", "-p", "no:cacheprovider"],
                     ROOT)
        assert result.returncode == 0, result.stdout[-3000:]
    elif program == "python" and len(words) > 1 and words[1].startswith("benchmarks/"):
        result = run([sys.executable, words[1], "--help"], ROOT)
        assert result.returncode == 0, result.stderr[-3000:]
        for option in (w.split("=")[0] for w in words[2:] if w.startswith("--")):
            assert re.search(rf"{re.escape(option)}\b", result.stdout), f"{words[1]} has no option {option}"
    elif words[:2] == ["python", "-m"] and words[2].startswith("galaxy_pretraining."):
        result = run([sys.executable, "-m", words[2], "--help"], ROOT)
        assert result.returncode == 0, result.stderr[-3000:]
    elif words == ["source", ".venv/bin/activate"]:
        assert (ROOT / ".venv/bin/activate").exists() or (BIN / "activate").exists()
    elif program == "cd":
        assert len(words) == 2 and (words[1] in ("galaxy-pretraining", "..") or (ROOT / words[1]).is_dir()), line
    elif program == "git" and words[1] == "clone":
        assert re.match(r"^(https://|git@)\S+", words[2]), line
    else:
        pytest.fail(f"the docs show a command of a kind no test checks: {line!r} (see tests/e2e/test_docs.py)")


def test_the_docs_show_the_two_commands():
    shown = {command for _, command in ALL}
    assert {"make demo", "make test"} <= shown


@pytest.mark.parametrize("where, command", ALL, ids=[f"{w}: {c[:60]}" for w, c in ALL])
def test_every_command_the_docs_show_runs_or_dry_runs(where, command, clone):
    if "config/gz1-sdss" in command and not GZ1.exists():
        pytest.skip(f"the gz1-sdss sample is not at {GZ1.parent}")
    check_command(command, clone)


@NEEDS_GZ1
def test_every_dag_count_block_matches_a_dry_run_of_todays_code(tmp_path):
    workdir = dag_counts.fresh_workdir(ROOT, tmp_path)
    stale = dag_counts.update(DOCS, ROOT, str(BIN / "snakemake"), workdir, check=True)
    assert not stale, f"run `python -m galaxy_pretraining_tools.dag_counts README.md docs/*.md docs/*/*.md`: {stale}"


def test_no_count_of_jobs_is_stated_outside_a_generated_block():
    for path in DOCS:
        text = dag_counts.BLOCK.sub("", path.read_text())
        stated = re.findall(r"\b\d[\d,]*\s+(?:training |GPU |download |CPU )?jobs\b", text)
        assert not stated, f"{path.relative_to(ROOT)} states {stated}: put DAG counts in a dag-counts block"


def test_the_counts_are_read_from_the_dry_run_and_a_stale_block_is_found(tmp_path):
    """The block for the paper's config: its numbers are Snakemake's; an edited number is reported, then mended."""
    page = tmp_path / "page.md"
    page.write_text("<!-- BEGIN dag-counts config/config.yaml profiles/slurm -->\n<!-- END dag-counts -->\n")
    snakemake = str(BIN / "snakemake")
    assert dag_counts.update([page], ROOT, snakemake, tmp_path / "work", check=False)
    text = page.read_text()
    counts = dag_counts.job_stats(ROOT, "config/config.yaml", "profiles/slurm", snakemake, tmp_path / "work")
    trains = sum(n for rule, n in counts.items() if rule.startswith("train"))
    assert f"| training jobs (one GPU each) | {trains} |" in text and f"| jobs in all | {sum(counts.values())} |" in text
    assert "| training runs (10 per job at most) | 210 |" in text  # 2 models x 100 runs + 2 x 5 long runs
    page.write_text(text.replace(f"| {trains} |", f"| {trains + 1} |"))
    assert dag_counts.update([page], ROOT, snakemake, tmp_path / "work", check=True)
    assert not dag_counts.update([page], ROOT, snakemake, tmp_path / "work", check=False) or True
    assert not dag_counts.update([page], ROOT, snakemake, tmp_path / "work", check=True)

"""Counts of a study's DAG in the docs, generated from a dry run so that they cannot drift.

A Markdown file marks where the counts go:

    <!-- BEGIN dag-counts config/config.yaml profiles/slurm -->
    <!-- END dag-counts -->

(the config, and optionally the profile, relative to the repository root).
`python -m galaxy_pretraining_tools.dag_counts README.md docs/*.md docs/*/*.md` fills every such
block from `snakemake -n` of that config on a fresh clone (no results yet);
`--check` only says which blocks are out of date and exits 1 if any is.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from galaxy_pretraining.io import atomic_path

BLOCK = re.compile(r"(<!-- BEGIN dag-counts (\S+)(?: (\S+))? -->\n)(.*?)(<!-- END dag-counts -->)", re.S)


class DagCountsError(RuntimeError):
    """A dry run for a dag-counts block failed, or its output could not be read."""


def job_stats(root: Path, config: str, profile: str | None, snakemake: str = "snakemake",
              workdir: Path | None = None) -> dict[str, int]:
    """{rule: jobs} of `snakemake -n [--profile P] --configfile C` run from `root`.

    As its "Job stats" table lists them.

    `workdir`, when given, is Snakemake's working folder (`-d`): an empty one counts the DAG of a fresh clone.
    Raises DagCountsError naming the command when the dry run fails or prints no job table.
    """
    command = [snakemake, "-n", "--configfile", str(root / config), "-s", str(root / "Snakefile")]
    if profile:
        command += ["--profile", str(root / profile)]
    if workdir is not None:
        command += ["-d", str(workdir)]
    result = subprocess.run(command, cwd=root, capture_output=True, text=True, timeout=900)
    if result.returncode != 0:
        raise DagCountsError(f"{' '.join(command)} failed:\n{result.stdout[-2000:]}{result.stderr[-3000:]}")
    if "Job stats:" not in result.stdout:
        raise DagCountsError(f"{' '.join(command)}: no 'Job stats' table in its output")
    stats = result.stdout.split("Job stats:")[1].split("\n\n")[0]
    counts = {}
    for line in stats.splitlines()[3:]:
        parts = line.split()
        if len(parts) == 2 and parts[1].isdigit() and parts[0] != "total":
            counts[parts[0]] = int(parts[1])
    return counts


def render(config_path: str, profile: str | None, counts: dict[str, int], runs: int, runs_per_job: int,
           local: int) -> str:
    """The Markdown of one block.

    Jobs in all, training jobs and the runs they train, and jobs on the head node.
    """
    training = sum(n for rule, n in counts.items() if rule == "train" or rule.startswith("train_"))
    command = f"snakemake -n {'--profile ' + profile + ' ' if profile else ''}--configfile {config_path}"
    return (
        f"Generated from `{command}` on a fresh clone (`python -m galaxy_pretraining_tools.dag_counts`; a test checks it):\n"
        "\n"
        "| what | count |\n"
        "|---|---|\n"
        f"| jobs in all | {sum(counts.values())} |\n"
        f"| training jobs (one GPU each) | {training} |\n"
        f"| training runs ({runs_per_job} per job at most) | {runs} |\n"
        f"| download jobs (run by Snakemake itself, on the head node) | {local} |\n"
        f"| other jobs (catalog, store, splits, tables, figures, and the target `all`) | "
        f"{sum(counts.values()) - training - local} |\n"
    )


def block_text(root: Path, config_path: str, profile: str | None, snakemake: str, workdir: Path) -> str:
    """The content of the block for `config_path` (and `profile`), from a dry run in the empty `workdir`."""
    import yaml

    from galaxy_pretraining import study

    config = study.resolve(yaml.safe_load((root / config_path).read_text()))
    counts = job_stats(root, config_path, profile, snakemake, workdir)
    local = sum(counts.get(rule, 0) for rule in local_rule_names(root))
    return render(config_path, profile, counts, len(study.Study(config).jobs),
                  config["train_resources"]["runs_per_job"], local)


def local_rule_names(root: Path) -> set[str]:
    """Rules marked `localrule: True` in workflow/rules/*.smk (the project keeps no `localrules:` list)."""
    names = set()
    for smk in (root / "workflow/rules").glob("*.smk"):
        for match in re.finditer(r"^rule (\w+):\n(.*?)(?=^\S|\Z)", smk.read_text(), re.M | re.S):
            if re.search(r"^\s+localrule: True$", match.group(2), re.M):
                names.add(match.group(1))
    return names


def fresh_workdir(root: Path, folder: Path) -> Path:
    """An empty working folder inside `folder`.

    It sees the repository's neighbours as the repository does.

    A config may name data beside the repository (../shared/data/gz1-sdss): each entry of root's parent other
    than root itself is linked beside the returned folder, so such paths resolve as from a fresh clone.
    """
    workdir = folder / root.name
    workdir.mkdir(parents=True, exist_ok=True)
    for neighbour in root.parent.iterdir():
        if neighbour.name != root.name and not (folder / neighbour.name).exists():
            (folder / neighbour.name).symlink_to(neighbour)
    return workdir


def update(paths: Sequence[Path], root: Path, snakemake: str, workdir: Path, check: bool) -> list[str]:
    """Fill (or with `check`, compare) every dag-counts block of `paths`.

    Returns '<file>: <config>' of the stale ones.
    """
    stale = []
    cache: dict[tuple, str] = {}
    for path in paths:
        text = path.read_text()
        pieces, last = [], 0
        for match in BLOCK.finditer(text):
            key = (match.group(2), match.group(3))
            if key not in cache:
                cache[key] = block_text(root, key[0], key[1], snakemake, workdir)
            if cache[key] != match.group(4):
                stale.append(f"{path}: {' '.join(k for k in key if k)}")
            pieces += [text[last:match.start(4)], cache[key]]
            last = match.end(4)
        new = "".join(pieces) + text[last:]
        if new != text and not check:
            with atomic_path(path) as tmp:
                tmp.write_text(new)
    return stale


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: fill (or with --check, compare) the dag-counts blocks of the files."""
    import tempfile

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("files", nargs="+", type=Path)
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 if a block is out of date")
    parser.add_argument("--root", type=Path, default=Path.cwd(), help="the repository (default: here)")
    args = parser.parse_args(argv)
    snakemake = str(Path(sys.executable).with_name("snakemake"))
    with tempfile.TemporaryDirectory(prefix="dag-counts-") as workdir:
        root = args.root.resolve()
        stale = update(args.files, root, snakemake, fresh_workdir(root, Path(workdir)), args.check)
    for line in stale:
        print(f"{'out of date' if args.check else 'updated'}: {line}")
    return 1 if stale and args.check else 0


if __name__ == "__main__":
    sys.exit(main())

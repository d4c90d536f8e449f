"""provenance: a clone of this repository names its real commit, says when its tree is dirty, digests the lock."""

import hashlib
import json
import os
import subprocess
import sys

from galaxy_pretraining.provenance import NOT_SLURM, git_state, slurm_job

from helpers.paths import ROOT

PRINT = "import json; from galaxy_pretraining.provenance import job_provenance; print(json.dumps(job_provenance()))"


def _provenance_in(clone):
    environment = {**os.environ, "PYTHONPATH": str(clone / "src")}
    out = subprocess.run([sys.executable, "-c", PRINT], env=environment, cwd="/", check=True, capture_output=True,
                         text=True).stdout
    return json.loads(out)


def test_a_clone_names_its_real_commit_and_whether_it_is_dirty(tmp_path):
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "--quiet", "--shared", str(ROOT), str(clone)], check=True)
    head = subprocess.run(["git", "-C", str(clone), "rev-parse", "HEAD"], check=True, capture_output=True,
                          text=True).stdout.strip()
    found = _provenance_in(clone)
    assert found["commit"] == head and found["dirty"] is False and found["source"] == str(clone)
    assert found["lock_digest"] == "sha256:" + hashlib.sha256((clone / "requirements.lock").read_bytes()).hexdigest()
    # What a SLURM study and a developer's checkout leave beside the source: not a change of it.
    (clone / "logs" / "slurm" / "rule_train").mkdir(parents=True)
    (clone / "logs" / "slurm" / "rule_train" / "812.log").write_text("log\n")
    (clone / "venv-link").symlink_to(tmp_path)
    assert _provenance_in(clone)["dirty"] is False
    with open(clone / "README.md", "a") as readme:
        readme.write("\nchanged\n")
    assert _provenance_in(clone)["dirty"] is True


def test_the_slurm_log_folder_is_ignored_by_git():
    ignored = subprocess.run(["git", "-C", str(ROOT), "check-ignore", "-q", "logs/slurm/rule_train/812.log"])
    assert ignored.returncode == 0


def test_outside_a_work_tree_the_commit_says_why_and_dirty_is_unknown(tmp_path):
    state = git_state(tmp_path)
    assert state["commit"].startswith(f"unknown ({tmp_path} is not in a git work tree")
    assert state["dirty"] is None


def test_dirty_is_a_real_boolean_in_the_provenance_table():
    """df[df.dirty] selects the dirty runs only; unknown stays NA with the commit saying why; old strings read."""
    import pandas as pd

    from galaxy_pretraining.provenance import RUN_FIELDS, provenance_table

    rows = []
    for run, dirty, commit in ((0, True, "abc"), (1, False, "abc"), (2, None, "unknown (git is not installed)"),
                               (3, "false", "abc")):
        rows.append(dict.fromkeys(RUN_FIELDS, "x") | {"model": "m", "long_run": False, "run": run, "attempt": 1,
                                                       "epoch": 1, "dirty": dirty, "commit": commit})
    table = provenance_table(pd.DataFrame(rows))
    assert str(table["dirty"].dtype) == "boolean"
    assert table[table["dirty"].fillna(False)]["run"].tolist() == [0]
    assert table["dirty"].isna().tolist() == [False, False, True, False]
    assert table.loc[table["dirty"].isna(), "commit"].iloc[0] == "unknown (git is not installed)"


def test_slurm_fields_from_the_environment():
    assert slurm_job({}) == dict.fromkeys(slurm_job({}), NOT_SLURM)
    job = slurm_job({"SLURM_JOB_ID": "812", "SLURM_ARRAY_JOB_ID": "800", "SLURM_ARRAY_TASK_ID": "12"})
    assert job == {"slurm_job_id": "812", "slurm_array_job_id": "800", "slurm_array_task_id": "12",
                   "slurm_restart_count": "0"}


def test_the_report_summary_warns_when_runs_differ(tmp_path):
    from galaxy_pretraining.provenance import RUN_FIELDS, provenance_summary

    row = dict.fromkeys(RUN_FIELDS, "x") | {"commit": "abc", "torch_version": "2.14.1"}
    path = tmp_path / "provenance.csv"
    import pandas as pd

    row["dirty"] = False
    pd.DataFrame([row, row]).to_csv(path, index=False)
    assert provenance_summary(path).startswith("Made by: commit abc, tree clean, requirements.lock x, torch 2.14.1,")
    assert "WARNING" not in provenance_summary(path)
    pd.DataFrame([row, row | {"commit": "def", "dirty": True}]).to_csv(path, index=False)
    summary = provenance_summary(path)
    # The headline states no single commit or tree when the runs differ in them.
    assert summary.startswith("Made by: commit several (2; see the WARNING), tree several (2; see the WARNING), ")
    assert summary.endswith("WARNING: the runs of this study differ in commit (abc, def); dirty (clean, dirty "
                            "(tracked files changed)).")
    pd.DataFrame([row | {"dirty": None}]).to_csv(path, index=False)
    assert "tree unknown" in provenance_summary(path)
    assert provenance_summary(tmp_path / "none.csv") == ""

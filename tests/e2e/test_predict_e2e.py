"""Prediction sets on a small demo study: the oracles (a run's own test galaxies give back its predictions; an
ensemble is the mean of its runs; more views leave the evaluation view's own output alone), the outputs, and
what a change of one set makes again."""

import subprocess

import numpy as np
import pandas as pd
import pytest
import torch
import yaml

from helpers.configs import case_config

pytestmark = pytest.mark.slow

PRETRAINED = "efficientnet_lite0-imagenet"


@pytest.fixture(scope="module")
def predicted(root, tmp_path_factory, snakemake_exe):
    """The study trained, then three prediction sets of run 0's test galaxies added and made."""
    workdir = tmp_path_factory.mktemp("predict")
    config = case_config("small")  # the demo shrunk to seconds: 120 mock galaxies, 2 runs of 2 epochs per arm
    config["study"] = "pred"
    config.pop("long_runs")  # no long runs: the sets read the standard runs only
    # every run keeps best.pt from the start, so adding the sets afterwards trains nothing (with the default,
    # `figures`, the runs a new set uses are trained once more to keep their weights: docs/predicting.md)
    config["best_weights"] = "all"
    command = [snakemake_exe, "-s", str(root / "Snakefile"), "-d", str(workdir), "--configfile",
               str(workdir / "config.yaml"), "--cores", "2"]
    (workdir / "config.yaml").write_text(yaml.safe_dump(config))
    first = subprocess.run(command, capture_output=True, text=True, timeout=900)
    assert first.returncode == 0, first.stderr[-4000:]
    results = workdir / "results/pred"
    catalog = pd.read_parquet(results / "catalog.parquet")
    own = pd.read_parquet(results / f"runs/{PRETRAINED}/run000/predictions.parquet")
    galaxies = catalog.iloc[own["row"].to_numpy()]
    table = pd.DataFrame({"id": galaxies["id"], "image": [str(workdir / p) for p in galaxies["image_path"]],
                          "label": galaxies["class_name"]})
    table.to_csv(workdir / "unseen.csv", index=False)
    images = {"table": str(workdir / "unseen.csv"), "image_column": "image"}
    config["predict"] = {
        "own": {"images": {**images, "label_column": "label"}, "model": PRETRAINED, "runs": 0},
        "ensemble": {"images": images, "model": PRETRAINED, "runs": "all"},
        "views": {"images": images, "model": PRETRAINED, "runs": [1], "views": 8, "embeddings": True},
    }
    (workdir / "config.yaml").write_text(yaml.safe_dump(config))
    plan = subprocess.run(command + ["-n"], capture_output=True, text=True, timeout=300)
    second = subprocess.run(command, capture_output=True, text=True, timeout=900)
    assert second.returncode == 0, second.stderr[-4000:]
    return workdir, results, config, command, plan.stdout


def jobs_of(dry_run: str) -> set[str]:
    """The rules a dry run's job stats list (nothing to do: none)."""
    if "Job stats:" not in dry_run:
        return set()
    rows = dry_run.split("Job stats:")[1].splitlines()[3:]
    return {line.split()[0] for line in rows[:next(i for i, line in enumerate(rows) if line.startswith("total"))]}


def test_adding_a_set_trains_nothing_and_best_weights_are_kept(predicted):
    _, results, _, _, plan = predicted
    assert not [job for job in jobs_of(plan) if job.startswith("train_")], plan
    assert {"predict_own", "predict_ensemble", "predict_views"} <= jobs_of(plan)
    assert (results / f"runs/{PRETRAINED}/run001/best.pt").exists()


def test_a_runs_own_test_galaxies_give_back_its_predictions(predicted):
    _, results, config, *_ = predicted
    classes = config["classes"]
    run = pd.read_parquet(results / f"runs/{PRETRAINED}/run000/predictions.parquet")
    catalog = pd.read_parquet(results / "catalog.parquet")
    run["id"] = catalog["id"].iloc[run["row"].to_numpy()].to_numpy()
    own = pd.read_parquet(results / "predictions/own.parquet").set_index("id").loc[run["id"]]
    columns = [f"probability_{c}" for c in classes]
    np.testing.assert_allclose(own[columns].to_numpy(), run[columns].to_numpy(), atol=2e-6)
    assert (own["predicted_index"].to_numpy() == run["predicted"].to_numpy()).all()
    assert (own["true"].to_numpy() == run["true"].to_numpy()).all()
    # an ensemble of one run and one view is that run: no spread
    assert (own[[f"probability_sd_{c}" for c in classes]].to_numpy() == 0).all()
    assert set(own["runs"]) == {"0"}


def test_an_ensemble_is_the_mean_of_its_runs(predicted):
    _, results, config, *_ = predicted
    classes = config["classes"]
    catalog = pd.read_parquet(results / "catalog.parquet")
    runs = []
    for run in (0, 1):
        table = pd.read_parquet(results / f"runs/{PRETRAINED}/run{run:03d}/predictions.parquet")
        runs.append(table.assign(id=catalog["id"].iloc[table["row"].to_numpy()].to_numpy()).set_index("id"))
    both = sorted(set(runs[0].index) & set(runs[1].index))
    assert both, "no galaxy in the test sets of both runs"
    columns = [f"probability_{c}" for c in classes]
    expected = (runs[0].loc[both, columns].to_numpy() + runs[1].loc[both, columns].to_numpy()) / 2
    ensemble = pd.read_parquet(results / "predictions/ensemble.parquet").set_index("id")
    np.testing.assert_allclose(ensemble.loc[both, columns].to_numpy(), expected, atol=2e-6)
    assert set(ensemble["runs"]) == {"0,1"} and "true" not in ensemble  # unlabelled: its label column ignored


def test_more_views_leave_the_evaluation_views_output_alone(predicted):
    from galaxy_pretraining.data.array_store import open_array_store
    from galaxy_pretraining.predict.ensemble import load_member, member_outputs

    _, results, config, *_ = predicted
    images = open_array_store(results / "predict/views/images.npy")
    member = load_member(results / f"runs/{PRETRAINED}/run001/best.pt", config["classes"], torch.device("cpu"))
    one, _ = member_outputs(member, images, 1, 64, False, torch.device("cpu"))
    eight, _ = member_outputs(member, images, 8, 64, False, torch.device("cpu"))
    np.testing.assert_array_equal(eight[0], one[0])
    assert not np.allclose(eight[1], eight[0])  # the other views are other images
    # the first view is the run's evaluation view: its logits are those of the run's own test predictions
    catalog = pd.read_parquet(results / "catalog.parquet")
    run = pd.read_parquet(results / f"runs/{PRETRAINED}/run001/predictions.parquet")
    run.index = catalog["id"].iloc[run["row"].to_numpy()].to_numpy()
    ids = pd.read_parquet(results / "predict/views/catalog.parquet")["id"].tolist()
    both = [i for i, galaxy in enumerate(ids) if galaxy in run.index]
    assert both
    logits = run.loc[[ids[i] for i in both], [f"logit_{c}" for c in config["classes"]]].to_numpy()
    np.testing.assert_allclose(eight[0][both], logits, atol=1e-4)
    # and the set's file is the mean over those eight views
    table = pd.read_parquet(results / "predictions/views.parquet")
    columns = [f"probability_{c}" for c in config["classes"]]
    expected = torch.tensor(eight, dtype=torch.float64).softmax(-1).mean(0).numpy()
    np.testing.assert_allclose(table[columns].to_numpy(), expected, atol=1e-9)


def test_embeddings_are_float16_features_with_the_ids(predicted):
    _, results, *_ = predicted
    saved = np.load(results / "predictions/views.embeddings.npz")
    table = pd.read_parquet(results / "predictions/views.parquet")
    assert saved["embeddings"].dtype == np.float16 and saved["embeddings"].shape == (len(table), 1280)
    assert list(saved["ids"]) == list(table["id"])
    assert np.isfinite(saved["embeddings"]).all() and saved["embeddings"].std() > 0


def test_calibration_of_the_study_and_of_a_labelled_set(predicted):
    _, results, config, *_ = predicted
    summary = pd.read_csv(results / "tables/calibration_summary.csv")
    assert set(summary["model"]) == set(config["models"]) and summary["ece_mean"].between(0, 1).all()
    assert (results / "figures/reliability_diagrams.png").stat().st_size > 0
    own = pd.read_csv(results / "predictions/own.calibration.csv")
    assert own.iloc[0]["bin"] == "all" and own.iloc[0]["count"] == config["splits"]["test_size"]
    run = pd.read_csv(results / "tables/calibration.csv").query("model == @PRETRAINED and run == 0")
    assert own.iloc[0]["ece"] == pytest.approx(float(run["ece"].iloc[0]), abs=1e-6)
    assert (results / "predictions/own.reliability.png").stat().st_size > 0


def test_a_changed_set_is_made_again_and_nothing_else(predicted):
    workdir, _, config, command, _ = predicted
    changed = {**config, "predict": {**config["predict"], "ensemble": {**config["predict"]["ensemble"], "views": 2}}}
    (workdir / "config.yaml").write_text(yaml.safe_dump(changed))
    try:
        plan = subprocess.run(command + ["-n"], capture_output=True, text=True, timeout=300)
    finally:
        (workdir / "config.yaml").write_text(yaml.safe_dump(config))
    assert jobs_of(plan.stdout) == {"predict_ensemble", "all"}, plan.stdout[-3000:]

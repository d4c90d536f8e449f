import copy
import re
import subprocess
from pathlib import Path

import pytest
import yaml

from galaxy_pretraining.config import ConfigError, restated_defaults, schema_defaults, validate_config
from galaxy_pretraining.study import Study, effective_config, resolve


@pytest.fixture
def demo(root):
    return yaml.safe_load((root / "config/demo.yaml").read_text())


@pytest.fixture
def paper(root):
    return yaml.safe_load((root / "config/config.yaml").read_text())


def test_shipped_configs_are_valid(root):
    for path in sorted((root / "config").glob("*.yaml")):
        resolve(yaml.safe_load(path.read_text()))


def test_paper_config_describes_210_training_jobs(paper):
    jobs = Study(resolve(paper)).jobs
    assert len(jobs) == 210
    long = [j for j in jobs if j.long]
    assert sorted({j.run for j in long}) == [45, 46, 47, 48, 49] and {j.epochs for j in long} == {1000}
    assert {j.model: j.epochs for j in jobs if not j.long} == {"alexnet-imagenet": 200, "alexnet-scratch": 400}
    assert long[0].folder.endswith("run045-e1000")


@pytest.mark.parametrize(
    "change, key",
    [
        (lambda c: c["splits"].update(runs="many"), "splits.runs"),
        (lambda c: c["splits"].update(test_sise=10), "splits: Additional properties"),
        (lambda c: c["training"].update(batch_size="big"), "training.batch_size"),
        (lambda c: c["training"].update(evaluation="random"), "training.evaluation"),
        (lambda c: c["models"]["efficientnet_lite0-imagenet"].update(frozen_share=1.2),
         "models.efficientnet_lite0-imagenet.frozen_share"),
        (lambda c: c["models"]["efficientnet_lite0-scratch"].update(weights="imagnet"), "models.efficientnet_lite0-scratch.weights"),
        (lambda c: c.update(studdy="x"), "(top level): Additional properties"),
    ],
)
def test_schema_rejects_bad_input_naming_the_key(root, demo, change, key):
    bad = copy.deepcopy(demo)
    change(bad)
    with pytest.raises(ConfigError, match=f"config key {key}".replace("(", r"\(").replace(")", r"\)")):
        validate_config(bad)


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda c: c["models"]["efficientnet_lite0-scratch"].update(architecture="alexnett"),
         "models.efficientnet_lite0-scratch.architecture: unknown architecture 'alexnett'"),
        (lambda c: c["training"].update(crop_size=500), "training.crop_size"),
        (lambda c: c["models"]["efficientnet_lite0-scratch"].update(frozen_share=0.5),
         "models.efficientnet_lite0-scratch.frozen_share: 0.5 of the layers would be kept at their initial random"),
        (lambda c: c["analysis"].update(example_run=7), "analysis.example_run: run 7"),
        (lambda c: c["figures"].update(peak_histogram={"bins": 3}), "figures.peak_histogram: unknown figure"),
        (lambda c: c["figures"].update(peak_histograms={"binz": 3}),
         "figures.peak_histograms.binz: peak_histograms.draw\\(\\) has no option 'binz'; its options: \\['bins'\\]"),
        (lambda c: c["data"]["mock"].update(image_size_min=200), "data.mock.image_size_min is larger"),
        (lambda c: c.update(classes=["a", "b"]), "classes: the mock sample has the classes"),
        # what fails in a training or figure job unless the config check refuses it (issue 31)
        (lambda c: c["models"]["efficientnet_lite0-scratch"].update(architecture="timm/mnv3s"),
         "models.efficientnet_lite0-scratch.architecture: 'timm/mnv3s' is not a model of timm 1"),
        (lambda c: c["models"]["efficientnet_lite0-scratch"].update(architecture="timm/mobilenetv3_smal"),
         "'timm/mobilenetv3_smal' is not a model of timm .*; close: timm/mobilenetv3_small_"),
        (lambda c: c["training"].update(crop_size=16),
         r"training.crop_size: 16 px is too small for models.efficientnet_lite0-imagenet \(efficientnet_lite0 runs "
         r"on 32 px or more\)"),
        (lambda c: c["models"]["efficientnet_lite0-scratch"].update(architecture="vit_b_16"),
         "training.crop_size: 64 px, but models.efficientnet_lite0-scratch is a vit_b_16, which takes 224 px crops "
         "only"),
        (lambda c: (c.update(gradcam={}), c["training"].update(crop_size=48)),
         "training.crop_size: 48 px is too small for the Grad-CAM of models.efficientnet_lite0-imagenet "
         r"\(efficientnet_lite0's layer _bn1 is a single pixel below 64 px\); use 64 px or more, or set gradcam: null"),
        (lambda c: c["analysis"].update(budgets=[2, 4, 8, 50]),
         r"analysis.budgets: \[50\] are longer than any run trains \(8 epochs at most\)"),
        (lambda c: c["figures"]["budget_gains"].update(budgets=[8, 2]),
         r"figures.budget_gains.budgets: 8 is not shorter than any model's epochs \(8\): no model gains"),
        (lambda c: c["figures"].update(budget_gains={"budgets": [3]}),
         r"figures.budget_gains.budgets: 3 is not read off the curves; add it to analysis.budgets \(\[2, 4, 8\]\)"),
        (lambda c: c["figures"].update(label_budget={}),
         r"figures.label_budget: this study draws no label_budget figure \(it needs splits.train_fractions below "
         r"1.0\); remove its options"),
        (lambda c: c["training"].update(lr_schedule={"milestones": [4, 8], "unit": "epochs"}),
         r"training.lr_schedule.milestones: \[8\] \(epochs\) are not before the last epoch of any run \(8 at "
         r"most\): the rate would never drop there"),
        (lambda c: c.update(long_runs={"runs": [1], "epochs": 8}),
         "long_runs.epochs: 8, but models.efficientnet_lite0-imagenet, models.efficientnet_lite0-scratch already "
         "train 8 epochs"),
    ],
)
def test_semantic_checks_name_the_key(demo, change, message):
    bad = copy.deepcopy(demo)
    change(bad)
    with pytest.raises(ConfigError, match=message):
        resolve(bad)


@pytest.mark.parametrize("change, message", [
    (lambda m: m.pop("irregular+misc"),
     r"data.folder.class_map: gives no raw label for the classes \['irregular\+misc'\], so no galaxy could be of them"),
    (lambda m: m["elliptical"].append(3), "data.folder.class_map: the raw label 3 is mapped to elliptical and to spiral"),
])
def test_a_class_map_that_cannot_label_the_classes_is_refused_naming_the_key(root, change, message):
    config = yaml.safe_load((root / "config/gz1-sdss.yaml").read_text())
    change(config["data"]["folder"]["class_map"])
    with pytest.raises(ConfigError, match=message):
        resolve(config)


def test_default_budgets_beyond_a_short_study_are_no_error(demo):
    """The schema's analysis.budgets (up to 1,000 epochs) and budget_gains' default budgets fit any study: the
    long budgets are left out of the peak tables, as their captions say, and the figure picks budgets that fit."""
    short = copy.deepcopy(demo)
    del short["analysis"], short["figures"]
    resolved = resolve(short)
    assert resolved["analysis"]["budgets"][-1] == 1000


def test_a_misspelt_figure_option_stops_the_workflow_at_parse_time(root, tmp_path, snakemake_exe, demo):
    bad = copy.deepcopy(demo)
    bad["figures"]["per_class_histograms"] = {"bins": 10, "colour": "red"}
    config = tmp_path / "bad.yaml"
    config.write_text(yaml.safe_dump(bad))
    result = subprocess.run([snakemake_exe, "-n", "-s", str(root / "Snakefile"), "-d", str(tmp_path), "--configfile",
                             str(config)], capture_output=True, text=True, timeout=300)
    assert result.returncode != 0
    assert "figures.per_class_histograms.colour: per_class_histograms.draw() has no option 'colour'" in (
        result.stdout + result.stderr)


def test_bad_config_fails_before_any_job(root, tmp_path, snakemake_exe, demo):
    bad = copy.deepcopy(demo)
    bad["splits"]["runs"] = "many"
    config = tmp_path / "bad.yaml"
    config.write_text(yaml.safe_dump(bad))
    result = subprocess.run(
        [snakemake_exe, "-s", str(root / "Snakefile"), "-d", str(tmp_path), "--configfile", str(config), "--cores", "1"],
        capture_output=True, text=True,
    )
    assert result.returncode != 0
    assert "config key splits.runs" in result.stdout + result.stderr
    assert not (tmp_path / "results").exists()


def job_counts(stdout: str) -> dict[str, int]:
    table = stdout.split("Job stats:")[1].split("\n\n")[0]  # up to the blank line that ends it
    return {line.split()[0]: int(line.split()[1]) for line in table.splitlines()[3:] if len(line.split()) == 2}


def dry_run(snakemake_exe, root, folder, configfile):
    # -d folder: nothing exists there, so every job is scheduled; no network is touched by a dry run.
    result = subprocess.run(
        [snakemake_exe, "-n", "--cores", "8", "-s", str(root / "Snakefile"), "-d", str(folder),
         "--configfile", str(configfile)],
        capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def training_job_count(counts: dict) -> int:
    """Training jobs of a dry run's job counts: one rule per group of runs, train_<model>_run<NNN>[_<MMM>]..."""
    return sum(n for rule, n in counts.items() if rule.startswith("train_"))


def test_dry_run_of_the_paper_study_schedules_its_210_runs_in_22_jobs_offline(root, tmp_path, snakemake_exe):
    """runs_per_job: 10 (config.yaml): 10 groups of 10 runs per model, and the 5 long runs of each in one job."""
    stdout = dry_run(snakemake_exe, root, tmp_path, root / "config/config.yaml")
    counts = job_counts(stdout)
    groups = {rule: n for rule, n in counts.items() if rule.startswith("train_")}
    assert len(groups) == 22 and set(groups.values()) == {1}
    assert "train_alexnet_scratch_run090_099" in groups and "train_alexnet_imagenet_run045_049_e1000" in groups
    for model in ("alexnet-imagenet", "alexnet-scratch"):  # every run's outputs, at the one-run rule's paths
        assert stdout.count(f"runs/{model}/run") >= 105
        assert f"results/nair-abraham-alexnet/runs/{model}/run099/metrics.parquet" in stdout
    assert "best.pt" not in stdout  # best_weights: figures, and the paper's study draws no network's weights
    for rule in ("fetch_catalog", "download_cutouts", "fetch_weights", "catalog", "array_store", "splits"):
        assert counts[rule] == 1


def test_one_run_per_job_schedules_210_training_jobs_and_best_weights_all_keeps_every_runs(root, tmp_path,
                                                                                           snakemake_exe):
    config = yaml.safe_load((root / "config/config.yaml").read_text())
    config["train_resources"]["runs_per_job"] = 1
    config["best_weights"] = "all"
    (tmp_path / "one.yaml").write_text(yaml.safe_dump(config))
    stdout = dry_run(snakemake_exe, root, tmp_path / "work", tmp_path / "one.yaml")
    counts = job_counts(stdout)
    assert training_job_count(counts) == 210 and counts["train_alexnet_scratch_run049_e1000"] == 1
    assert len(set(re.findall(r"runs/[\w-]+/run\d{3}[\w-]*/best\.pt", stdout))) == 210


def test_the_workstation_profile_schedules_the_demo(root, tmp_path, snakemake_exe):
    result = subprocess.run(
        [snakemake_exe, "-n", "-s", str(root / "Snakefile"), "-d", str(tmp_path), "--configfile",
         str(root / "config/demo.yaml"), "--profile", str(root / "profiles/local")],
        capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    stats = result.stdout.split("Job stats:")[1]
    counts = {r: int(n) for r, n in (line.split()[:2] for line in stats.splitlines()[3:] if len(line.split()) == 2)
              if n.isdigit()}
    assert training_job_count(counts) == 4


def test_dry_run_of_fus_study_schedules_its_models_runs_and_grad_cam_maps_offline(root, tmp_path, snakemake_exe):
    """7 models x 5 runs, a Grad-CAM figure per model, Fu's table and figure; the file fetched by a local rule."""
    stdout = dry_run(snakemake_exe, root, tmp_path, root / "config/fu-galaxy10.yaml")
    counts = job_counts(stdout)
    assert training_job_count(counts) == 35 and counts["gradcam"] == 7 and counts["fetch_galaxy10"] == 1
    # best_weights: figures: each model's best weights of the Grad-CAM run only
    assert len(set(re.findall(r"runs/[\w-]+/run\d{3}[\w-]*/best\.pt", stdout))) == 7
    assert counts["fetch_weights"] == 1  # DenseNet-121's ImageNet file, shared by the six pretrained models
    assert "results/fu-galaxy10-densenet121/tables/frozen_share_results.csv" in stdout
    assert "results/fu-galaxy10-densenet121/figures/frozen_share_accuracy.png" in stdout
    assert "results/fu-galaxy10-densenet121/figures/gradcam/densenet121-frozen100.png" in stdout


def test_dry_run_of_the_three_arm_zoobot_study_fetches_both_hub_files_offline(root, tmp_path, snakemake_exe):
    """config/gz1-sdss-zoobot.yaml: Zoobot's encoder, timm's ImageNet weights and scratch, 5 runs x 7 budgets;
    each hub file (and the sha256 the hub states) fetched once by a local rule, before any training."""
    sample = tmp_path / "shared/data/gz1-sdss"  # where the config looks, from the work folder: ../shared/...
    (sample / "images").mkdir(parents=True)
    (sample / "labels.csv").write_text("OBJID,CLASS\n")
    stdout = dry_run(snakemake_exe, root, tmp_path / "work", root / "config/gz1-sdss-zoobot.yaml")
    counts = job_counts(stdout)
    assert training_job_count(counts) == 3 * 5 * 7 and counts["fetch_hub_weights"] == 2 and "fetch_weights" not in counts
    for file in ("zoobot-encoder-convnext_nano.bin", "timm-convnext_nano.safetensors"):
        assert f"resources/weights/{file}.sha256" in stdout
    assert "results/gz1-sdss-zoobot/tables/labels_saved.csv" in stdout


def test_dry_run_of_zhus_study_schedules_ten_networks_ten_runs_and_their_tables_offline(root, tmp_path, snakemake_exe):
    """config/zhu2019-gz2.yaml: 10 models x 10 runs, the Kaggle files asked for by one local rule, ImageNet
    files fetched for the four torchvision networks' pretrained arms, ROC/AUC and Zhu et al.'s comparison."""
    stdout = dry_run(snakemake_exe, root, tmp_path, root / "config/zhu2019-gz2.yaml")
    counts = job_counts(stdout)
    assert training_job_count(counts) == 100 and counts["fetch_weights"] == 4 and counts["galaxy_zoo2_files"] == 1
    assert counts["curves"] == 1 and "results/zhu2019-gz2/tables/predictions.parquet" in stdout  # one gathering step
    for output in ("tables/zhu2019_comparison.csv", "tables/zhu2019_per_class.csv", "tables/roc_auc_summary.csv",
                   "tables/test_side_accuracy.csv", "figures/roc_curves.png", "tables/sign_tests.csv"):
        assert f"results/zhu2019-gz2/{output}" in stdout
    assert "inception_v3_google-0cc3c7bd.pth" in stdout


@pytest.mark.parametrize("name", sorted(p.name for p in (Path(__file__).parents[2] / "config").glob("*.yaml")))
def test_every_shipped_config_states_only_what_differs_from_the_schema(root, name):
    """Every default is stated once, in the schema: a shipped config restating one would go stale with it."""
    raw = yaml.safe_load((root / "config" / name).read_text())
    assert restated_defaults(raw, effective_config) == []


def test_restated_defaults_names_each_key_that_changes_nothing():
    raw = {"study": "x", "training": {"flips": True, "crop_size": 32, "optimizer": {"name": "sgd", "lr": 0.5}},
           "long_runs": {"runs": [], "epochs": 1000}}
    defaults = schema_defaults("training")
    assert defaults["flips"] is True and defaults["crop_size"] != 32
    assert restated_defaults(raw) == ["training.flips", "long_runs"]  # the optimizer is stated whole: it differs


def test_a_computed_default_restated_is_found_too(demo):
    """analysis.example_run defaults to the last run: stating it is restating a default."""
    demo["analysis"]["example_run"] = demo["splits"]["runs"] - 1
    assert restated_defaults(demo) == []  # the schema's own default is null
    assert restated_defaults(demo, effective_config) == ["analysis.example_run"]

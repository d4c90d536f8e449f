"""The house: one source for every default, the registries, paper numbers only where they belong, a light parse."""

import copy
import dataclasses
import json
import os
import subprocess
import sys

import pytest
import yaml

from galaxy_pretraining import study
from galaxy_pretraining.config import load_schema, resolve_config, schema_defaults
from galaxy_pretraining.data.kinds import KINDS
from galaxy_pretraining.data.kinds.nair_abraham.sdss import CutoutSettings
from galaxy_pretraining.figures import FIGURES, FigureDeclarationError, read_spec
from galaxy_pretraining.papers import fu, schneider2023
from galaxy_pretraining.tables import TABLES
from galaxy_pretraining.training.spec import Machine, Protocol, RunPaths

MINIMAL = {
    "study": "minimal",
    "data": {"kind": "mock", "mock": {"n_galaxies": 50}},
    "classes": ["elliptical", "lenticular", "spiral", "irregular+misc"],
    "image_size": 256,
    "splits": {"runs": 2, "test_size": 10},
    "models": {"alexnet-imagenet": {"architecture": "alexnet", "weights": "imagenet", "epochs": 3}},
}


@pytest.fixture
def paper(root):
    return study.resolve(yaml.safe_load((root / "config/config.yaml").read_text()))


@pytest.fixture
def demo(root):
    return study.resolve(yaml.safe_load((root / "config/demo.yaml").read_text()))


# --- every default stated once ---------------------------------------------------------------


def test_the_library_settings_have_no_defaults_of_their_own():
    for settings in (Protocol, Machine, RunPaths, CutoutSettings):
        with_default = [f.name for f in dataclasses.fields(settings)
                        if f.default is not dataclasses.MISSING or f.default_factory is not dataclasses.MISSING]
        assert with_default == [], f"{settings.__name__} states defaults: {with_default}"


def test_the_rules_params_hold_the_protocol_and_a_job_reads_the_rest_from_its_config(paper):
    """Only settings that can change a result are params (a change of params reruns a finished job)."""
    config = paper
    job = study.training_jobs(config)[0]
    settings = study.train_settings(config, job)
    protocol = settings.params()
    assert not set(protocol) & {"eval_batch_size", "device", "compile", "checkpoint_every"}
    assert {"batch_size", "optimizer", "crop_size", "rotation", "evaluation", "seed", "run"} <= set(protocol)
    assert Protocol.from_params(protocol) == settings
    other = {**config, "training": {**config["training"], "device": "cpu", "eval_batch_size": 3}}
    assert study.train_settings(other, job).fingerprint() == settings.fingerprint()
    assert Machine.from_config(other, 2) == Machine("cpu", config["training"]["compile"], 3,
                                                    config["training"]["checkpoint_every"], 2, False)
    group = study.training_groups(config)[0]
    paths = [study.run_paths(config, j) for j in group.jobs]
    outputs = study.group_outputs(config, group)
    assert [str(p.metrics) for p in paths] == outputs["metrics"]
    assert [str(p.best_model) for p in paths if p.best_model] == outputs.get("best_model", [])
    assert [RunPaths.from_params(p.params()) for p in paths] == paths


def test_best_weights_are_kept_for_the_runs_the_figures_draw_or_for_all(paper):
    """best_weights: figures keeps best.pt only of gradcam.run / feature_maps.run (else the example run), on all
    the labels and not for a long run; all keeps every run's. A group's outputs list exactly those."""
    assert not any(study.keeps_best_weights(paper, job) for job in study.training_jobs(paper))  # no such figure
    drawn = {**paper, "gradcam": {"run": 3, "galaxies_per_class": 2}}
    kept = [job for job in study.training_jobs(drawn) if study.keeps_best_weights(drawn, job)]
    assert [(job.model, job.run, job.long) for job in kept] == [("alexnet-imagenet", 3, False),
                                                                ("alexnet-scratch", 3, False)]
    example = {**paper, "feature_maps": {"run": None}}
    assert {job.run for job in study.training_jobs(example) if study.keeps_best_weights(example, job)} == {
        paper["analysis"]["example_run"]}
    group = study.training_groups(drawn)[0]  # runs 0-9 of alexnet-imagenet
    outputs = study.group_outputs(drawn, group)
    assert len(outputs["metrics"]) == len(outputs["predictions"]) == 10
    assert outputs["best_model"] == ["results/nair-abraham-alexnet/runs/alexnet-imagenet/run003/best.pt"]
    assert "best_model" not in study.group_outputs(paper, group)
    every = {**paper, "best_weights": "all"}
    assert len(study.group_outputs(every, group)["best_model"]) == 10
    assert all(study.keeps_best_weights(every, job) for job in study.training_jobs(every))


def test_the_final_targets_ask_for_every_kept_best_pt(paper):
    """So that a finished study switched to best_weights: all makes them (a best.pt only a rule's output, asked for
    by nothing, Snakemake would never make): 210 runs of the paper's study, none under the default."""
    every = {**paper, "best_weights": "all"}
    kept = [t for t in study.final_targets(every) if t.endswith("/best.pt")]
    assert len(kept) == len(study.training_jobs(every)) == 210
    assert kept == [f"results/nair-abraham-alexnet/{job.folder}/best.pt" for job in study.training_jobs(every)]
    assert not any(t.endswith("/best.pt") for t in study.final_targets(paper))


def test_train_settings_built_from_the_schema_defaults_are_the_schema_defaults():
    config = study.resolve(copy.deepcopy(MINIMAL))
    settings = study.train_settings(config, study.training_jobs(config)[0])
    training_defaults = schema_defaults("training")
    machine = {f.name for f in dataclasses.fields(Machine)} - {"threads", "tensorboard"}
    job_fields = {"architecture", "weights", "epochs", "frozen_share", "dropout", "class_names", "run", "train_fraction",
                  "split"}
    assert set(training_defaults) == {f.name for f in dataclasses.fields(Protocol)} - job_fields | machine
    assert {k: getattr(settings, k) for k in training_defaults if k not in machine} == {
        k: v for k, v in training_defaults.items() if k not in machine}
    assert settings.split == {"test_size": 10, "validation_size": 0, "stratify": False, "seed": 2023}
    # the paper's protocol is the default
    assert training_defaults["optimizer"] == {"name": "sgd", "lr": 0.001, "momentum": 0.9, "weight_decay": 0.0, "nesterov": False}
    assert (training_defaults["batch_size"], training_defaults["crop_size"], training_defaults["rotation"]) == (384, 224, 180)


def test_the_demo_resolves_to_its_own_values_and_the_schema_defaults_for_the_rest(root, demo):
    raw = yaml.safe_load((root / "config/demo.yaml").read_text())
    defaults = schema_defaults("training")
    for key, value in demo["training"].items():
        assert value == raw["training"].get(key, defaults[key]) or key == "optimizer", key
    assert demo["training"]["optimizer"] == {**defaults["optimizer"], "momentum": 0.0, **raw["training"]["optimizer"]}


def test_the_cutout_settings_come_whole_from_the_schema():
    block = schema_defaults("data", "nair_abraham")
    settings = CutoutSettings.from_config(block)
    assert dataclasses.asdict(settings) == {k: block[k] for k in dataclasses.asdict(settings)}


def test_both_seeds_share_one_stated_default():
    schema = load_schema()
    split_seed = schema["properties"]["splits"]["properties"]["seed"]
    training_seed = schema["properties"]["training"]["properties"]["seed"]
    assert split_seed is training_seed and split_seed["default"] == 2023  # one YAML anchor


def test_resolving_fills_nested_defaults_and_leaves_given_values():
    config = resolve_config({**copy.deepcopy(MINIMAL), "training": {"optimizer": {"name": "adam", "lr": 0.01}}})
    assert config["training"]["optimizer"] == {"name": "adam", "lr": 0.01, "momentum": 0.0, "weight_decay": 0.0,
                                               "nesterov": False}
    assert config["long_runs"] == {"runs": [], "epochs": 1000}
    assert config["data"]["mock"] == {"n_galaxies": 50, "seed": 0, "image_size_min": 80, "image_size_max": 128}


# --- registries --------------------------------------------------------------------------------


def test_the_schema_knows_exactly_the_registered_data_kinds():
    assert set(load_schema()["properties"]["data"]["properties"]["kind"]["enum"]) == set(KINDS)
    for name, module in KINDS.items():
        for attribute in ("FIXED_CLASSES", "check", "catalog_inputs", "summary_inputs", "build_catalog"):
            assert hasattr(module, attribute), f"data kind {name} lacks {attribute}"


def test_catalog_inputs_come_from_the_data_kind(paper, demo):
    assert study.catalog_inputs(paper) == {"raw": "resources/nair_abraham/table2.parquet",
                                           "manifest": "results/nair-abraham-alexnet/download_manifest.parquet"}
    assert study.catalog_inputs(demo) == {"raw": "results/demo/mock/catalog_raw.parquet",
                                          "images": "results/demo/mock/images"}
    assert study.table_inputs(paper, "sample_summary")["manifest"].endswith("download_manifest.parquet")
    assert "manifest" not in study.table_inputs(demo, "sample_summary")


def test_every_figure_reads_only_registered_tables():
    tables = set(TABLES) | {"curves", "predictions"}
    for name, spec in FIGURES.items():
        assert set(spec.tables.values()) <= tables, name
        assert spec.description, f"{name} has no docstring to caption it"


def test_a_figure_module_with_an_argument_that_is_no_option_is_refused(tmp_path):
    module = tmp_path / "broken.py"
    module.write_text('"""A figure."""\nTABLES = {"peaks": "peak_accuracy"}\n\n\ndef draw(peaks, models, colour):\n'
                      '    pass\n')
    with pytest.raises(FigureDeclarationError, match="draw\\(\\) argument 'colour' is neither"):
        read_spec(module)
    module.write_text('TABLES = {"gains": "gains"}\n\n\ndef draw(peaks, models):\n    pass\n')
    with pytest.raises(FigureDeclarationError, match="TABLES names \\['gains'\\]"):
        read_spec(module)


def test_tables_and_figures_of_paired_comparisons_and_long_runs_only_where_the_study_has_them(paper, demo):
    assert "table3_long_runs" in study.table_names(paper) and "table3_long_runs" not in study.table_names(demo)
    alone = copy.deepcopy(demo)
    del alone["models"]["efficientnet_lite0-imagenet"]
    assert "gains" not in study.table_names(alone) and "sign_tests" not in study.table_names(alone)
    assert "gain_histograms" not in study.figure_names(alone) and "peak_histograms" in study.figure_names(alone)
    assert set(study.figure_names(demo)) == set(FIGURES) - {"frozen_share_accuracy", "label_budget"}
    budgets = copy.deepcopy(demo)
    budgets["splits"]["train_fractions"] = [0.1, 1.0]
    assert {"label_budget", "labels_saved", "label_budget_sign_tests"} <= set(study.table_names(budgets))
    assert "label_budget" in study.figure_names(budgets)
    del budgets["models"]["efficientnet_lite0-imagenet"]
    assert "label_budget" in study.table_names(budgets) and "labels_saved" not in study.table_names(budgets)
    assert "frozen_share_results" not in study.table_names(paper)
    frozen = copy.deepcopy(demo)
    frozen["models"]["efficientnet_lite0-imagenet"]["frozen_share"] = 0.5
    assert "frozen_share_results" in study.table_names(frozen) and "frozen_share_accuracy" in study.figure_names(frozen)


def test_fu_numbers_only_in_fus_study_on_the_real_file(root):
    import yaml

    config = study.resolve(yaml.safe_load((root / "config/fu-galaxy10.yaml").read_text()))
    assert fu.arms(config) == {f"densenet121-frozen{round(s * 100):03d}": s for s in (0, 0.2, 0.4, 0.6, 0.8, 1.0)}
    assert "Fu's Table 1" in study.table_caption(config, "frozen_share_results")
    for change in (lambda c: c["data"]["galaxy10_decals"].update(mock={"n_galaxies": 100}),
                   lambda c: c["training"]["optimizer"].update(lr=0.001),
                   lambda c: c["training"].update(oversample=False)):
        other = copy.deepcopy(config)
        change(other)
        assert fu.arms(other) == {}
        assert "paper_*" not in study.table_caption(other, "frozen_share_results")
    other = copy.deepcopy(config)
    other["models"]["densenet121-frozen020"]["architecture"] = "resnet50"
    assert "densenet121-frozen020" not in fu.arms(other)


# --- the paper's numbers, by arm, in the paper's comparison only ------------------------------


def test_the_paper_study_is_the_paper_comparison_and_the_demo_is_not(paper, demo):
    assert schneider2023.arms(paper) == {"alexnet-imagenet": "pretrained", "alexnet-scratch": "scratch"}
    assert schneider2023.arms(demo) == {}
    assert "training.normalization" in schneider2023.protocol_differences(demo)


@pytest.mark.parametrize("change", [
    lambda c: c["training"]["optimizer"].update(lr=0.01),
    lambda c: c["training"].update(evaluation="center"),
    lambda c: c.update(image_size=128),
    lambda c: c["data"].update(kind="mock", mock={"n_galaxies": 100, "seed": 0, "image_size_min": 80,
                                                  "image_size_max": 128}),
])
def test_another_protocol_gets_no_paper_numbers(paper, change):
    changed = copy.deepcopy(paper)
    change(changed)
    assert schneider2023.arms(changed) == {}
    assert "1.58e-30" not in study.table_caption(changed, "sign_tests")
    assert "paper_arms" in study.TABLES["sign_tests"].needs and study.table_arguments(changed, "sign_tests") == {
        "paper_arms": {}}


def test_renaming_the_models_keeps_the_paper_numbers(paper):
    renamed = copy.deepcopy(paper)
    renamed["models"] = {"mine": paper["models"]["alexnet-imagenet"], "theirs": paper["models"]["alexnet-scratch"]}
    assert schneider2023.arms(renamed) == {"mine": "pretrained", "theirs": "scratch"}


def test_captions_carry_the_paper_numbers_only_in_its_comparison(paper, demo):
    assert "1.58e-30" in study.table_caption(paper, "sign_tests")
    assert "84.2" in study.figure_caption(paper, "peak_histograms")
    assert "1.58e-30" not in study.table_caption(demo, "sign_tests")
    assert "84.2" not in study.figure_caption(demo, "peak_histograms")
    assert study.figure_caption(demo, "peak_histograms") == FIGURES["peak_histograms"].description


# --- parsing the workflow imports neither torch nor matplotlib -------------------------------


PARSE_TIME = ("import sys, json\nfrom galaxy_pretraining import study\nfrom galaxy_pretraining.errors import mark_invocation\n"
              "from galaxy_pretraining.data.kinds import galaxy10_decals, galaxy_zoo2, mock, nair_abraham\n"
              "from galaxy_pretraining.caches import use_workflow_caches\n"
              "print(json.dumps(sorted(sys.modules)))")


def test_what_the_workflow_imports_at_parse_time_stays_light():
    """What the Snakefile and workflow/rules/common.smk import: no torch, matplotlib, scipy or PIL."""
    loaded = json.loads(subprocess.run([sys.executable, "-c", PARSE_TIME], capture_output=True, text=True,
                                       check=True).stdout)
    assert [m for m in ("torch", "torchvision", "timm", "kornia", "matplotlib", "scipy", "PIL") if m in loaded] == []


def test_the_parse_time_import_contract_names_every_module_parse_time_loads(root):
    """import-linter checks only the modules its parse-time contract names (their direct imports): each of ours
    that parsing the workflow loads must be among them, or a torch import there would pass `make lint`."""
    import tomllib

    contracts = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]
    sources = next(c for c in contracts if c["id"] == "parse-time")["source_modules"]

    def named(module: str) -> bool:
        parts = module.split(".")
        return any(len(p.split(".")) == len(parts) and all(a in ("*", b) for a, b in zip(p.split("."), parts))
                   for p in sources)

    loaded = json.loads(subprocess.run([sys.executable, "-c", PARSE_TIME], capture_output=True, text=True,
                                       check=True).stdout)
    ours = [m for m in loaded if m == "galaxy_pretraining" or m.startswith("galaxy_pretraining.")]
    assert "galaxy_pretraining.study" in ours and [m for m in ours if not named(m)] == []


def test_a_dry_run_works_where_torch_and_matplotlib_cannot_be_imported(root, tmp_path, snakemake_exe):
    poison = tmp_path / "poison"
    for name in ("torch", "torchvision", "matplotlib"):
        (poison / name).mkdir(parents=True)
        (poison / name / "__init__.py").write_text(f"raise ImportError('{name} imported while parsing')\n")
    env = {**os.environ, "PYTHONPATH": str(poison)}
    result = subprocess.run([snakemake_exe, "-n", "-s", str(root / "Snakefile"), "-d", str(tmp_path / "work"),
                             "--configfile", str(root / "config/config.yaml")],
                            capture_output=True, text=True, timeout=300, env=env)
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
    assert "imported while parsing" not in result.stdout + result.stderr


# --- several runs per job --------------------------------------------------------------------


def test_runs_are_grouped_per_model_and_length_in_run_order(paper):
    groups = study.training_groups(paper)  # runs_per_job: 10; 100 runs and 5 long runs per model
    assert [len(g.jobs) for g in groups] == ([10] * 10 + [5]) * 2
    assert [job for g in groups for job in g.jobs] == study.training_jobs(paper)  # each once, in order
    for group in groups:
        assert len({(job.model, job.long, job.epochs) for job in group.jobs}) == 1
        assert [job.run for job in group.jobs] == sorted(job.run for job in group.jobs)
    long = groups[10]
    assert long.name == "alexnet-imagenet/run045-049-e1000" and long.rule_name == "train_alexnet_imagenet_run045_049_e1000"
    assert long.epochs == 5 * 1000
    assert len({g.rule_name for g in groups}) == len(groups)


def test_a_group_smaller_than_runs_per_job_takes_what_is_left(paper):
    config = copy.deepcopy(paper)
    config["train_resources"]["runs_per_job"] = 3
    config["splits"]["runs"] = [0, 1, 2, 3, 7]
    config["long_runs"]["runs"] = []
    names = [g.name for g in study.training_groups(config)]
    assert names == ["alexnet-imagenet/run000-002", "alexnet-imagenet/run003-007",
                     "alexnet-scratch/run000-002", "alexnet-scratch/run003-007"]


def test_label_budgets_add_jobs_per_fraction_with_their_own_folders_and_settings(demo):
    budgets = copy.deepcopy(demo)
    budgets["splits"]["train_fractions"] = [0.05, 1.0, 0.2]
    budgets["training"]["budget_scaling"] = "steps"
    study.resolve(budgets)
    jobs = study.training_jobs(budgets)
    assert len(jobs) == 2 * 2 * 3
    folders = {job.folder for job in jobs if job.model == "efficientnet_lite0-imagenet" and job.run == 1}
    assert folders == {"runs/efficientnet_lite0-imagenet/run001", "runs/efficientnet_lite0-imagenet/run001-f0.2",
                       "runs/efficientnet_lite0-imagenet/run001-f0.05"}
    job = next(job for job in jobs if job.folder == "runs/efficientnet_lite0-imagenet/run001-f0.05")
    settings = study.train_settings(budgets, job)
    assert settings.train_fraction == 0.05 and settings.budget_scaling == "steps"
    assert "train_fractions" not in settings.split  # adding a budget changes no other job's settings
    assert all(job.fraction == 1.0 for job in study.full_label_jobs(budgets))
    groups = {group.name for group in study.training_groups({**budgets, "train_resources": {"runs_per_job": 2}})}
    assert "efficientnet_lite0-scratch/run000-001-f0.05" in groups
    caption = study.figure_caption(budgets, "label_budget")
    assert "2 runs per model" in caption and "shares 0.05, 0.2, 1" in caption and "same optimiser steps" in caption
    assert "shares 0.05" in study.table_caption(budgets, "labels_saved")
    without_all = copy.deepcopy(demo)
    without_all["splits"]["train_fractions"] = [0.5]
    with pytest.raises(study.ConfigError, match="splits.train_fractions: \\[0.5\\] lacks 1.0"):
        study.resolve(without_all)


# --- galaxy-pretrained weights: timm architectures and the zoobot source -----------------------


def three_arms(demo, architecture="timm/convnext_nano"):
    config = copy.deepcopy(demo)
    config["models"] = {f"convnext_nano-{weights}": {"architecture": architecture, "weights": weights, "epochs": 8}
                        for weights in ("zoobot", "imagenet", "none")}
    return config


def test_a_zoobot_arm_reads_its_hub_file_and_recorded_sha256_and_pairs_with_scratch(demo):
    config = study.resolve(three_arms(demo))
    assert study.weights_inputs(config, "convnext_nano-zoobot") == [
        "resources/weights/zoobot-encoder-convnext_nano.bin", "resources/weights/zoobot-encoder-convnext_nano.bin.sha256"]
    assert study.weights_inputs(config, "convnext_nano-imagenet")[0] == "resources/weights/timm-convnext_nano.safetensors"
    assert study.weights_inputs(config, "convnext_nano-none") == []
    assert study.architecture_of_weights_file(config, "zoobot-encoder-convnext_nano.bin") == [
        "timm/convnext_nano", "zoobot"]
    assert study.model_pairs(config) == [["convnext_nano-zoobot", "convnext_nano-none"],
                                         ["convnext_nano-imagenet", "convnext_nano-none"]]
    job = study.training_jobs(config)[0]
    assert study.train_settings(config, job).weights == "zoobot"
    assert study.weights_inputs(demo, "efficientnet_lite0-imagenet") == ["resources/weights/efficientnet-lite0-57934424.pth"]


@pytest.mark.parametrize("change, message", [
    (lambda c: c["models"]["convnext_nano-zoobot"].update(architecture="resnet50"),
     "models.convnext_nano-zoobot.weights: zoobot's encoders are timm models"),
    (lambda c: c["models"]["convnext_nano-none"].update(frozen_share=0.5),
     "models.convnext_nano-none.frozen_share: 0.5 .* needs pretrained weights"),
    (lambda c: c["models"]["convnext_nano-imagenet"].update(architecture="timm/"),
     "models.convnext_nano-imagenet.architecture: 'timm/' is not timm/<a timm model name>"),
    (lambda c: c["models"]["convnext_nano-imagenet"].update(architecture="convnext_nano"),
     "unknown architecture 'convnext_nano'.*or timm/<model>"),
])
def test_bad_timm_or_zoobot_models_are_refused_naming_the_key(demo, change, message):
    config = three_arms(demo)
    change(config)
    with pytest.raises(study.ConfigError, match=message):
        study.resolve(config)


def test_freezing_a_zoobot_encoder_is_allowed(demo):
    config = three_arms(demo)
    config["models"]["convnext_nano-zoobot"]["frozen_share"] = 1.0
    study.resolve(config)


# --- what a table or figure leaves out, its caption says (issue 31) ----------------------------


def test_captions_say_which_budgets_and_pairs_the_config_leaves_out(paper, demo):
    caption = study.table_caption(paper, "table1_budgets")
    assert "Budgets longer than 200 epochs are left out of the 200-epoch runs of alexnet-imagenet: 400, 1000." in caption
    assert "long runs" not in caption  # they train 1,000 epochs, the longest budget
    assert "Budgets compared: 50, 20 (by default" in study.figure_caption(paper, "budget_gains")
    short = copy.deepcopy(demo)
    short["figures"] = {}
    short["models"]["efficientnet_lite0-scratch"]["epochs"] = 4
    short = study.resolve(short)
    assert "Budgets compared: 2 (by default the two longest of analysis.budgets shorter than every model's epochs)." \
        in study.figure_caption(short, "budget_gains")
    note = ("No equal-budget gain for efficientnet_lite0-imagenet - efficientnet_lite0-scratch: efficientnet_lite0-scratch "
            "trains 4 epochs, fewer than efficientnet_lite0-imagenet's 8.")
    assert note in study.figure_caption(short, "equal_budget_gain") and note in study.table_caption(short, "sign_tests")
    assert "left out" not in study.table_caption(demo, "table1_budgets")  # the demo's budgets all fit its 8 epochs

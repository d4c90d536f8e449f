"""The training jobs: runs grouped per model and length, label budgets, which runs keep best.pt, the targets."""

import copy
from pathlib import Path

from galaxy_pretraining.study import Study, resolve
from galaxy_pretraining.study.settings import protocol
from galaxy_pretraining.training.spec import RunPaths


def test_best_weights_are_kept_for_the_runs_the_figures_draw_or_for_all(paper):
    """best_weights: figures keeps best.pt only of gradcam.run / feature_maps.run (else the example run), on all
    the labels and not for a long run; all keeps every run's. A group's outputs list exactly those."""
    study = Study(paper)
    assert not any(study.keeps_best_weights(job) for job in study.jobs)  # no such figure
    drawn = Study({**paper, "gradcam": {"run": 3, "galaxies_per_class": 2}})
    kept = [job for job in drawn.jobs if drawn.keeps_best_weights(job)]
    assert [(job.model, job.run, job.long) for job in kept] == [("alexnet-imagenet", 3, False),
                                                                ("alexnet-scratch", 3, False)]
    example = Study({**paper, "feature_maps": {"run": None}})
    assert {job.run for job in example.jobs if example.keeps_best_weights(job)} == {paper["analysis"]["example_run"]}
    group = drawn.groups[0]  # runs 0-9 of alexnet-imagenet
    outputs = drawn.group_outputs(group)
    assert len(outputs["metrics"]) == len(outputs["predictions"]) == 10
    assert outputs["best_model"] == ["results/nair-abraham-alexnet/runs/alexnet-imagenet/run003/best.pt"]
    assert "best_model" not in study.group_outputs(group)
    every = Study({**paper, "best_weights": "all"})
    assert len(every.group_outputs(group)["best_model"]) == 10
    assert all(every.keeps_best_weights(job) for job in every.jobs)


def test_a_runs_paths_name_its_best_pt_only_where_it_is_kept(paper):
    drawn = Study({**paper, "gradcam": {"run": 3, "galaxies_per_class": 2}})
    kept, other = drawn.jobs_by_name["alexnet-imagenet/run003"], drawn.jobs_by_name["alexnet-imagenet/run004"]
    assert drawn.paths.run(kept) == RunPaths(Path("results/nair-abraham-alexnet/runs/alexnet-imagenet/run003/metrics.parquet"),
                                             Path("results/nair-abraham-alexnet/runs/alexnet-imagenet/run003/predictions.parquet"),
                                             Path("results/nair-abraham-alexnet/runs/alexnet-imagenet/run003/best.pt"))
    assert drawn.paths.run(kept).checkpoint == Path("results/nair-abraham-alexnet/runs/alexnet-imagenet/run003/last.pt")
    assert drawn.paths.run(other).best_model is None
    assert drawn.group_outputs(drawn.groups[0])["metrics"][3] == str(drawn.paths.run(kept).metrics)


def test_the_final_targets_ask_for_every_kept_best_pt(paper):
    """So that a finished study switched to best_weights: all makes them (a best.pt only a rule's output, asked for
    by nothing, Snakemake would never make): 210 runs of the paper's study, none under the default."""
    every = Study({**paper, "best_weights": "all"})
    kept = [t for t in every.targets if t.endswith("/best.pt")]
    assert len(kept) == len(every.jobs) == 210
    assert kept == [f"results/nair-abraham-alexnet/{job.folder}/best.pt" for job in every.jobs]
    assert not any(t.endswith("/best.pt") for t in Study(paper).targets)


def test_the_plan_is_computed_once_per_study(paper):
    study = Study(paper)
    assert study.jobs is study.jobs and study.kept_best_weights is study.kept_best_weights
    assert study.protocol(study.jobs[0]) is study.protocol(study.jobs[0])


def test_runs_are_grouped_per_model_and_length_in_run_order(paper):
    study = Study(paper)
    groups = study.groups  # runs_per_job: 10; 100 runs and 5 long runs per model
    assert [len(g.jobs) for g in groups] == ([10] * 10 + [5]) * 2
    assert [job for g in groups for job in g.jobs] == study.jobs  # each once, in order
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
    names = [g.name for g in Study(config).groups]
    assert names == ["alexnet-imagenet/run000-002", "alexnet-imagenet/run003-007",
                     "alexnet-scratch/run000-002", "alexnet-scratch/run003-007"]


def test_label_budgets_add_jobs_per_fraction_with_their_own_folders_and_settings(demo):
    budgets = copy.deepcopy(demo)
    budgets["splits"]["train_fractions"] = [0.05, 1.0, 0.2]
    budgets["training"]["budget_scaling"] = "steps"
    resolve(budgets)
    study = Study(budgets)
    jobs = study.jobs
    assert len(jobs) == 2 * 2 * 3
    folders = {job.folder for job in jobs if job.model == "efficientnet_lite0-imagenet" and job.run == 1}
    assert folders == {"runs/efficientnet_lite0-imagenet/run001", "runs/efficientnet_lite0-imagenet/run001-f0.2",
                       "runs/efficientnet_lite0-imagenet/run001-f0.05"}
    job = next(job for job in jobs if job.folder == "runs/efficientnet_lite0-imagenet/run001-f0.05")
    settings = protocol(budgets, job)
    assert settings.train_fraction == 0.05 and settings.budget_scaling == "steps"
    assert "train_fractions" not in settings.split  # adding a budget changes no other job's settings
    assert study.protocol(job).train_fraction == 0.05 and "train_fractions" not in study.protocol(job).split
    assert all(job.fraction == 1.0 for job in study.full_label_jobs)
    drawn = Study({**budgets, "gradcam": {"run": 1, "galaxies_per_class": 2}})  # best.pt on all the labels only
    assert {job.name for job in drawn.jobs if drawn.keeps_best_weights(job)} == {
        "efficientnet_lite0-imagenet/run001", "efficientnet_lite0-scratch/run001"}
    groups = {group.name for group in Study({**budgets, "train_resources": {"runs_per_job": 2}}).groups}
    assert "efficientnet_lite0-scratch/run000-001-f0.05" in groups
    caption = study.figure_caption("label_budget")
    assert "2 runs per model" in caption and "shares 0.05, 0.2, 1" in caption and "same optimiser steps" in caption
    assert "shares 0.05" in study.table_caption("labels_saved")


def test_the_curves_rules_get_each_runs_files_and_key_by_job_name(demo):
    study = Study(demo)
    runs = study.curve_runs(study.full_label_jobs)
    assert list(runs) == [job.name for job in study.full_label_jobs]
    assert runs["efficientnet_lite0-scratch/run001"] == {
        "metrics": "results/demo/runs/efficientnet_lite0-scratch/run001/metrics.parquet",
        "predictions": "results/demo/runs/efficientnet_lite0-scratch/run001/predictions.parquet",
        "key": ["efficientnet_lite0-scratch", 1, 8, False, 1.0]}
    assert study.curve_inputs(study.full_label_jobs, "metrics") == [run["metrics"] for run in runs.values()]

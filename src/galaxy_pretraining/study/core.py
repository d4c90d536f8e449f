"""The Study: one object built once from the resolved config, which the workflow's rules ask for everything."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import cached_property

from ..config import ConfigError
from ..data.kinds import data_kind
from ..models.registry import is_timm, sha256_record, weights_file_name
from ..predict import sets as prediction_sets
from ..provenance import provenance_summary
from ..tables import TABLES
from ..training.spec import Protocol
from . import captions, outputs, resources, settings, targets
from .jobs import TrainingGroup, TrainingJob
from .paths import StudyPaths
from .plan import Plan


class Study(Plan):
    """A study as the workflow runs it: the plan (runs, jobs, tables, figures), its paths, protocols and captions.

    Built once per parse from a resolved config (study.resolve); every value
    is computed once and kept. The rules in workflow/rules/ call its methods,
    one line each, and nothing else reads the config for the plan.
    """

    @cached_property
    def paths(self) -> StudyPaths:
        """Where each of the study's files lives."""
        return StudyPaths(self.results, self.kept_best_weights)

    @cached_property
    def protocols(self) -> dict[TrainingJob, Protocol]:
        """Every job's run spec (training/spec.py), built once."""
        return {job: settings.protocol(self.config, job) for job in self.jobs}

    def protocol(self, job: TrainingJob) -> Protocol:
        """The run spec of one job: what changes its numbers, the training rule's params and its fingerprint."""
        return self.protocols[job]

    @cached_property
    def split(self) -> dict:
        """What draws each run's split: the splits block without the runs and the label budgets."""
        return settings.split_settings(self.config)

    # --- the data and training rules ---

    @cached_property
    def catalog_inputs(self) -> dict[str, str]:
        """The catalog rule's inputs, as the data kind names them."""
        return data_kind(self.config).catalog_inputs(self.config, self.results)

    def group_outputs(self, group: TrainingGroup) -> dict[str, list[str]]:
        """A training rule's outputs: every run's metrics and predictions, and best.pt of the runs that keep it."""
        result = {"metrics": [self.paths.metrics(job) for job in group.jobs],
                  "predictions": [self.paths.predictions(job) for job in group.jobs]}
        kept = [self.paths.best_model(job) for job in group.jobs if self.keeps_best_weights(job)]
        if kept:
            result["best_model"] = kept
        return result

    def weights_file(self, model: str) -> str | None:
        """resources/weights/<file> of a pretrained model; None for a model trained from scratch."""
        spec = self.config["models"][model]
        if spec["weights"] == "none":
            return None
        return f"resources/weights/{weights_file_name(spec['architecture'], spec['weights'])}"

    def weights_inputs(self, model: str) -> list[str]:
        """What a model's training job reads of its weights: the file and, for a hub file, its recorded sha256."""
        path = self.weights_file(model)
        if path is None:
            return []
        return [path, sha256_record(path)] if is_timm(self.config["models"][model]["architecture"]) else [path]

    def weights_source(self, file_name: str) -> list[str]:
        """[architecture, weights source] of the configured model whose weights file is `file_name`."""
        for spec in self.config["models"].values():
            if spec["weights"] != "none" and weights_file_name(spec["architecture"], spec["weights"]) == file_name:
                return [spec["architecture"], spec["weights"]]
        raise ConfigError(f"no configured model uses the weights file {file_name}")

    @cached_property
    def train_resources(self) -> dict[str, int | str | None]:
        """What every training job asks the scheduler for (config: train_resources)."""
        return resources.train_job_resources(self.config["train_resources"])

    @property
    def summary_resources(self) -> dict[str, int | None]:
        """What a table, figure or gathering step of group `summary` asks the scheduler for."""
        return resources.SUMMARY_STEP

    @property
    def model_figure_resources(self) -> dict[str, int | None]:
        """What a Grad-CAM or feature-maps step (a network on the CPU) asks the scheduler for."""
        return resources.MODEL_FIGURE_STEP

    def train_runtime(self, group: TrainingGroup) -> Callable[..., int]:
        """The `runtime` resource of a group's job, which grows with its epochs and with each attempt."""
        return resources.train_runtime(self.config["train_resources"], group.epochs)

    # --- prediction sets (config: predict; workflow/rules/predict.smk) ---

    def prediction_table(self, name: str) -> str:
        """The table of a prediction set's galaxies (predict.<name>.images.table): its catalog rule's input."""
        return self.config["predict"][name]["images"]["table"]

    def prediction_store_params(self, name: str) -> dict:
        """What decides a prediction set's catalog and array store (predict.sets.store_params)."""
        return prediction_sets.store_params(self.config, name)

    def prediction_digests(self) -> list[tuple[str, str]]:
        """(listed catalog, image digest) of every prediction set: what data.image_digest.refresh_image_digest takes."""
        return [(self.paths.prediction_listed_catalog(name), self.paths.prediction_image_digest(name))
                for name in self.prediction_sets]

    def prediction_rule_name(self, name: str) -> str:
        """The name of a prediction set's rule: predict_<name>."""
        return prediction_sets.rule_name(name)

    def prediction_inputs(self, name: str) -> dict[str, str | list[str]]:
        """A prediction set's job reads its array store, its catalog and the best.pt of every run it uses."""
        return {"store": self.paths.prediction_store(name), "catalog": self.paths.prediction_catalog(name),
                "best_models": [self.paths.best_model(job) for job in self.prediction_jobs(name)]}

    def prediction_outputs(self, name: str) -> dict[str, str]:
        """A prediction set's job writes its predictions and, with embeddings, its embeddings."""
        outputs = {"predictions": self.paths.set_predictions(name)}
        if self.config["predict"][name]["embeddings"]:
            outputs["embeddings"] = self.paths.set_embeddings(name)
        return outputs

    def prediction_params(self, name: str) -> dict:
        """What decides a set's predictions besides its files: its model, runs, views, embeddings and classes."""
        return prediction_sets.set_params(self.config, name, self.runs)

    def prediction_reliability_caption(self, name: str) -> str:
        """The report's caption of a labelled prediction set's reliability diagram."""
        spec = self.config["predict"][name]
        return (f"Reliability diagram of prediction set {name}: accuracy against top-class confidence of the "
                f"ensemble of {spec['model']} (runs {self.prediction_runs(name)}, {spec['views']} view(s) each), "
                "in 15 equal-width bins (empty bins left out), against the diagonal of perfect calibration; "
                f"its expected calibration error in the title and in predictions/{name}.calibration.csv.")

    def prediction_resources(self, name: str) -> dict[str, int | str | None]:
        """What a prediction set's job asks the scheduler for (predict.<name>.resources)."""
        return resources.prediction_job_resources(self.config["predict"][name]["resources"],
                                                  self.config["train_resources"])

    # --- tables and figures ---

    def curve_runs(self, jobs: Iterable[TrainingJob]) -> dict[str, dict]:
        """The runs a curves rule gathers, by job name (outputs.curve_runs)."""
        return outputs.curve_runs(self.paths, jobs)

    def curve_inputs(self, jobs: Iterable[TrainingJob], kind: str) -> list[str]:
        """The `metrics` or `predictions` files of the runs a curves rule gathers, in the order of curve_runs."""
        return [run[kind] for run in self.curve_runs(jobs).values()]

    def table_inputs(self, name: str) -> dict[str, str]:
        """A table's inputs by its function's argument names."""
        return outputs.table_inputs(self, self.paths, name)

    def table_arguments(self, name: str) -> dict:
        """A table's context values by its function's argument names."""
        return outputs.context(self, TABLES[name].needs)

    def table_caption(self, name: str) -> str:
        """A table's caption; the provenance table's starts with what made the study (read when the report is made)."""
        caption = captions.table_caption(self, name)
        if name == "provenance":
            caption = f"{provenance_summary(self.paths.table(name, 'csv'))} {caption}".strip()
        return caption

    def figure_inputs(self, name: str) -> dict[str, str]:
        """A figure's tables by draw() argument, and its module's source."""
        return outputs.figure_inputs(self.paths, name)

    def figure_arguments(self, name: str) -> dict:
        """draw()'s context plus the config's options for the figure."""
        return outputs.figure_arguments(self, name)

    def figure_caption(self, name: str) -> str:
        """A figure's caption."""
        return captions.figure_caption(self, name)

    def model_figure_inputs(self, key: str, model: str) -> dict[str, str]:
        """The inputs of one model's `key` figure (gradcam, feature_maps)."""
        return outputs.model_figure_inputs(self, self.paths, key, model)

    def gradcam_caption(self, model: str) -> str:
        """The caption of one model's Grad-CAM figure."""
        return captions.gradcam_caption(self, model)

    def feature_maps_captions(self, model: str) -> dict[str, str]:
        """The captions of one model's first-layer filters (`filters`) and feature maps (`maps`)."""
        return captions.feature_maps_captions(self, model)

    @cached_property
    def targets(self) -> list[str]:
        """Every file the study makes when no target is named (targets.final_targets)."""
        return targets.final_targets(self, self.paths)

"""The Study: one object built once from the resolved config, which the rules ask for everything."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import cached_property

from ..config import ConfigError
from ..data.kinds import data_kind, galaxy_zoo2, no_data_screening
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
    """A study as the workflow runs it: the plan, its paths, protocols and captions.

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
    def model_names(self) -> list[str]:
        """The configured models (config: models), in config order: the values of wildcard `model`."""
        return list(self.config["models"])

    @cached_property
    def classes(self) -> list[str]:
        """The study's classes (config: classes), in order."""
        return list(self.config["classes"])

    @cached_property
    def data(self) -> dict:
        """The data block (config: data): what the catalog rule builds the catalog from."""
        return self.config["data"]

    def data_settings(self, kind: str) -> dict | None:
        """The block of data kind `kind` (data.<kind>); None where the config has none."""
        return self.config["data"].get(kind)

    def mock_settings(self, kind: str) -> dict | None:
        """The mock block of data kind `kind` (data.<kind>.mock); None where it has none."""
        return (self.config["data"].get(kind) or {}).get("mock")

    @cached_property
    def needs_galaxy_zoo2_files(self) -> bool:
        """Whether the study reads the real Galaxy Zoo 2 files (data.kind galaxy_zoo2, not mocked)."""
        return self.config["data"]["kind"] == "galaxy_zoo2" and not self.config["data"]["galaxy_zoo2"]["mock"]

    @cached_property
    def galaxy_zoo2_solutions_file(self) -> str:
        """Where the Galaxy Zoo 2 solutions file is expected (data.galaxy_zoo2.path)."""
        return galaxy_zoo2.solutions_file(self.config, self.results)

    @cached_property
    def store_params(self) -> dict:
        """What decides the array store besides its images: size, crop, square, duplicates, no-data screening."""
        return {"size": self.config["image_size"], "crop": self.config["image_crop"],
                "square": self.config["non_square_images"], "duplicates": self.config["duplicate_images"],
                "screen": no_data_screening(self.config["data"])}

    @cached_property
    def weights_mirror(self) -> str | None:
        """A server with torchvision's ImageNet weight files (config: weights_mirror); None: torchvision's own."""
        return self.config["weights_mirror"]

    @cached_property
    def hub_endpoint(self) -> str:
        """The Hugging Face hub (or mirror) the timm architectures' weights come from (config: hub_endpoint)."""
        return self.config["hub_endpoint"]

    @cached_property
    def catalog_inputs(self) -> dict[str, str]:
        """The catalog rule's inputs, as the data kind names them."""
        return data_kind(self.config).catalog_inputs(self.config, self.results)

    def group_outputs(self, group: TrainingGroup) -> dict[str, list[str]]:
        """A training rule's outputs: each run's metrics and predictions, and best.pt of the runs that keep it."""
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

    @cached_property
    def train_retries(self) -> int:
        """How often a failed training job is tried again (config: train_resources.retries)."""
        return self.config["train_resources"]["retries"]

    @cached_property
    def train_threads(self) -> int:
        """The CPU threads of a training job (config: train_resources.threads)."""
        return self.config["train_resources"]["threads"]

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
        """(listed catalog, image digest) of every prediction set, for data.image_digest.refresh_image_digest."""
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

    def prediction_threads(self, name: str) -> int:
        """The CPU threads of a prediction set's job (predict.<name>.resources.threads)."""
        return self.config["predict"][name]["resources"]["threads"]

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

    @cached_property
    def max_iterations(self) -> int | None:
        """The cap on each run's optimiser steps (training.max_iterations): a run ending there may lack epochs."""
        return self.config["training"]["max_iterations"]

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

    def table_caption(self, name: str, for_report: bool = False) -> str:
        """A table's caption; in a report, the provenance table's starts with what made the study.

        The summary is read from the provenance table itself, so it is added only
        when the report is made: as a param of the table's rule it would change
        once the table exists and make a finished study remake it.
        """
        caption = captions.table_caption(self, name)
        if name == "provenance" and for_report:
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

    @property
    def gradcam_galaxies_per_class(self) -> int:
        """The galaxies per class a Grad-CAM figure draws (gradcam.galaxies_per_class); gradcam must be set."""
        return self.config["gradcam"]["galaxies_per_class"]

    @property
    def feature_maps_options(self) -> dict | None:
        """The feature-maps figure's options (config: feature_maps); None when it is not drawn."""
        return self.config["feature_maps"]

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

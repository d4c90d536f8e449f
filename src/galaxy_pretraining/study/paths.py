"""Where a study's files live: one method per kind of file, all below results/<study>."""

from __future__ import annotations

from collections.abc import Container
from pathlib import Path

from ..training.spec import RunPaths
from .jobs import TrainingJob


class StudyPaths:
    """The paths of a study's files, as the rules name them (relative to the working directory).

    Args:
        results: the study's folder, results/<study>.
        kept: the jobs that keep their best weights as best.pt (Plan.kept_best_weights).
    """

    def __init__(self, results: str, kept: Container[TrainingJob]):
        self.results = results
        self._kept = kept

    def _in_results(self, name: str) -> str:
        return f"{self.results}/{name}"

    @property
    def listed_catalog(self) -> str:
        """The catalog as the data kind lists the sample, before the array store's image checks."""
        return self._in_results("catalog_listed.parquet")

    @property
    def image_digest(self) -> str:
        """The file that stands for the study's image files as an input of the array store (data.image_digest)."""
        return self._in_results("image_digest.txt")

    @property
    def catalog(self) -> str:
        """The catalog's rows the array store kept: what the splits, training jobs and tables read."""
        return self._in_results("catalog.parquet")

    @property
    def image_checks(self) -> str:
        """What the array store's image checks found, one row per image dropped or flagged."""
        return self._in_results("image_checks.parquet")

    @property
    def store(self) -> str:
        """The array store: every image of the catalog at image_size, one memory-mappable array."""
        return self._in_results("images.npy")

    @property
    def splits(self) -> str:
        """Every run's split of the catalog into training, validation and test galaxies."""
        return self._in_results("splits.parquet")

    def metrics(self, job: TrainingJob) -> str:
        """A run's per-epoch metrics."""
        return self._in_results(f"{job.folder}/metrics.parquet")

    def predictions(self, job: TrainingJob) -> str:
        """A run's best-epoch test predictions."""
        return self._in_results(f"{job.folder}/predictions.parquet")

    def best_model(self, job: TrainingJob) -> str | None:
        """A run's best weights, best.pt; None where the run does not keep them (config best_weights)."""
        return self._in_results(f"{job.folder}/best.pt") if job in self._kept else None

    def run(self, job: TrainingJob) -> RunPaths:
        """Where one run writes, as the training job reads it."""
        best = self.best_model(job)
        return RunPaths(Path(self.metrics(job)), Path(self.predictions(job)), None if best is None else Path(best))

    def table(self, name: str, suffix: str = "parquet") -> str:
        """tables/<name>.<suffix>: a table of the registry (tables.TABLES), or curves and predictions."""
        return self._in_results(f"tables/{name}.{suffix}")

    def figure(self, name: str, suffix: str = "png") -> str:
        """figures/<name>.<suffix>: a figure of the registry (figures.FIGURES)."""
        return self._in_results(f"figures/{name}.{suffix}")

    def model_figures(self, figure: str, model: str) -> list[str]:
        """figures/<figure>/<model>.png and .pdf: one model's Grad-CAM, first-layer filters or feature maps."""
        return [self._in_results(f"figures/{figure}/{model}.{suffix}") for suffix in ("png", "pdf")]

    # A prediction set's files (config: predict); `name` may be the rule's wildcard, "{prediction_set}".

    def prediction_folder(self, name: str) -> str:
        """predict/<name>: a prediction set's catalog, image digest, array store and image checks."""
        return self._in_results(f"predict/{name}")

    def prediction_listed_catalog(self, name: str) -> str:
        """The galaxies a prediction set's table lists, before its array store's image checks."""
        return f"{self.prediction_folder(name)}/catalog_listed.parquet"

    def prediction_image_digest(self, name: str) -> str:
        """The file that stands for a prediction set's image files (data.image_digest)."""
        return f"{self.prediction_folder(name)}/image_digest.txt"

    def prediction_store(self, name: str) -> str:
        """A prediction set's array store, at the study's image_size."""
        return f"{self.prediction_folder(name)}/images.npy"

    def prediction_catalog(self, name: str) -> str:
        """The galaxies of a prediction set its array store kept, row i being store row i."""
        return f"{self.prediction_folder(name)}/catalog.parquet"

    def prediction_image_checks(self, name: str) -> str:
        """What a prediction set's array store found in its images."""
        return f"{self.prediction_folder(name)}/image_checks.parquet"

    def set_predictions(self, name: str) -> str:
        """predictions/<name>.parquet: a prediction set's probabilities per galaxy."""
        return self._in_results(f"predictions/{name}.parquet")

    def set_embeddings(self, name: str) -> str:
        """predictions/<name>.embeddings.npz: a prediction set's penultimate-layer features (with embeddings)."""
        return self._in_results(f"predictions/{name}.embeddings.npz")

    def set_calibration(self, name: str) -> str:
        """predictions/<name>.calibration.csv: a labelled prediction set's calibration."""
        return self._in_results(f"predictions/{name}.calibration.csv")

    def set_reliability(self, name: str) -> str:
        """predictions/<name>.reliability.png: a labelled prediction set's reliability diagram."""
        return self._in_results(f"predictions/{name}.reliability.png")

    def log(self, name: str) -> str:
        """logs/<name>.log: the log of one job."""
        return self._in_results(f"logs/{name}.log")

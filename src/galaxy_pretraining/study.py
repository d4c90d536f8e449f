"""The study a config describes: its runs, training jobs, paths and settings.

The Snakemake rules ask these functions (through workflow/rules/common.smk)
for every target list and parameter, so the wiring holds no logic and the
logic is unit-tested here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from .models import ARCHITECTURES, weights_file_name
from .train import TrainSettings


class ConfigError(ValueError):
    """A config that passes the schema but cannot describe a study; names the key."""


@dataclass(frozen=True)
class TrainingJob:
    model: str
    run: int
    epochs: int
    long: bool  # one of the long_runs repeats

    @property
    def folder(self) -> str:
        """runs/<model>/run<NNN> or runs/<model>/run<NNN>-e<epochs> for the long runs."""
        return f"runs/{self.model}/run{self.run:03d}" + (f"-e{self.epochs}" if self.long else "")


def run_numbers(config: Mapping) -> list[int]:
    runs = config["splits"]["runs"]
    return list(range(runs)) if isinstance(runs, int) else sorted(runs)


def long_run_numbers(config: Mapping) -> list[int]:
    return sorted(config.get("long_runs", {}).get("runs", []))


def split_runs(config: Mapping) -> list[int]:
    """Every run that needs a split: the standard runs and the long ones."""
    return sorted(set(run_numbers(config)) | set(long_run_numbers(config)))


def training_jobs(config: Mapping) -> list[TrainingJob]:
    jobs = []
    long_epochs = config.get("long_runs", {}).get("epochs", 1000)
    for model, spec in config["models"].items():
        jobs += [TrainingJob(model, run, spec["epochs"], False) for run in run_numbers(config)]
        jobs += [TrainingJob(model, run, long_epochs, True) for run in long_run_numbers(config)]
    return jobs


def weights_file(config: Mapping, model: str) -> str | None:
    """resources/weights/<file> of a pretrained model; None for a model trained from scratch."""
    spec = config["models"][model]
    if spec["weights"] == "none":
        return None
    return f"resources/weights/{weights_file_name(spec['architecture'])}"


def architecture_of_weights_file(config: Mapping, file_name: str) -> str:
    for spec in config["models"].values():
        if spec["weights"] != "none" and weights_file_name(spec["architecture"]) == file_name:
            return spec["architecture"]
    raise ConfigError(f"no configured model uses the weights file {file_name}")


def train_settings(config: Mapping, model: str, run: int, epochs: int) -> TrainSettings:
    spec = config["models"][model]
    training = dict(config["training"])
    return TrainSettings(
        architecture=spec["architecture"],
        pretrained=spec["weights"] == "imagenet",
        epochs=int(epochs),
        n_classes=len(config["classes"]),
        run=int(run),
        split={k: v for k, v in config["splits"].items() if k != "runs"},
        **training,
    )


def validate_config(config: Mapping, schema_path: str) -> None:
    """Check the config against the JSON schema; one line per problem, each naming its key."""
    import jsonschema
    import yaml

    with open(schema_path) as stream:
        schema = yaml.safe_load(stream)
    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(config), key=lambda e: list(e.absolute_path))
    if errors:
        lines = []
        for error in errors:
            error = jsonschema.exceptions.best_match([error])
            key = ".".join(str(p) for p in error.absolute_path) or "(top level)"
            lines.append(f"config key {key}: {error.message}")
        raise ConfigError("invalid config:\n  " + "\n  ".join(lines))


def analysis_budgets(config: Mapping) -> list[int]:
    """Budgets to read off the curves: the configured ones plus every model's epochs (for equal-budget tests)."""
    budgets = set(config.get("analysis", {}).get("budgets", [5, 10, 20, 50, 200, 400, 1000]))
    return sorted(budgets | {spec["epochs"] for spec in config["models"].values()})


def model_pairs(config: Mapping) -> list[list[str]]:
    """[pretrained, scratch] model pairs: the same architecture with ImageNet weights and without."""
    pairs = []
    for pretrained, spec in config["models"].items():
        if spec["weights"] != "imagenet":
            continue
        for scratch, other in config["models"].items():
            if other["weights"] == "none" and other["architecture"] == spec["architecture"]:
                pairs.append([pretrained, scratch])
    return pairs


def example_run(config: Mapping) -> int:
    return int(config.get("analysis", {}).get("example_run", run_numbers(config)[-1]))


FIGURE_ARGUMENTS = {
    "per_class_histograms": ("class_names",),
    "confusion_matrices": ("class_names", "run"),
    "mean_confusion_matrices": ("class_names",),
    "training_curves": ("run",),
}
PAIRED = ("gain_histograms", "equal_budget_gain", "sign_tests")


def figure_arguments(config: Mapping, name: str) -> dict:
    """Arguments of a figure's draw(): the models, class names or example run it needs, plus its config options."""
    arguments = {"models": list(config["models"])}
    for needed in FIGURE_ARGUMENTS.get(name, ()):
        arguments[needed] = list(config["classes"]) if needed == "class_names" else example_run(config)
    arguments.update(config.get("figures", {}).get(name, {}))
    return arguments


def final_targets(config: Mapping, figures: tuple[str, ...]) -> list[str]:
    """Every table and figure of the study (paired comparisons only where a pretrained/scratch pair exists)."""
    results = f"results/{config['study']}"
    tables = ["sample_summary", "peak_accuracy", "table1_budgets", "table2_class_accuracy", "table4_precision_recall_f1",
              "confusion_summary", "gains", "sign_tests"]
    if long_run_numbers(config):
        tables.append("table3_long_runs")
    paired = bool(model_pairs(config))
    targets = [f"{results}/splits.parquet"]
    targets += [f"{results}/tables/{t}.parquet" for t in tables if paired or t not in PAIRED + ("gains",)]
    for name in figures:
        if paired or name not in PAIRED:
            targets += [f"{results}/figures/{name}.png", f"{results}/figures/{name}.pdf"]
    return targets


def train_runtime_minutes(config: Mapping, epochs: int) -> int:
    """Scheduler time limit of a training job: a fixed overhead plus a time per epoch."""
    resources = config.get("train_resources", {})
    return int(resources.get("minutes_overhead", 15) + resources.get("minutes_per_epoch", 0.2) * epochs + 0.999)


def check_config(config: Mapping) -> None:
    """Checks the schema cannot express; each error names the key at fault."""
    for model, spec in config["models"].items():
        if spec["architecture"] not in ARCHITECTURES:
            raise ConfigError(
                f"models.{model}.architecture: unknown architecture {spec['architecture']!r}; "
                f"known: {sorted(ARCHITECTURES)}"
            )
    training = config["training"]
    if training.get("crop_size", 224) > config["image_size"]:
        raise ConfigError(
            f"training.crop_size ({training['crop_size']}) is larger than image_size ({config['image_size']})"
        )
    if example_run(config) not in run_numbers(config):
        raise ConfigError(
            f"analysis.example_run: run {example_run(config)} is not among the configured runs "
            f"(splits.runs gives {run_numbers(config)[:3]}...)"
        )
    unknown = [name for name in config.get("figures", {}) if name not in _figure_names()]
    if unknown:
        raise ConfigError(f"figures: unknown figure(s) {unknown}; figures are {list(_figure_names())}")
    data = config["data"]
    if data["kind"] in ("nair_abraham", "mock") and list(config["classes"]) != [
        "elliptical", "lenticular", "spiral", "irregular+misc"
    ]:
        raise ConfigError(
            f"classes: the {data['kind']} sample has the paper's four classes "
            "[elliptical, lenticular, spiral, irregular+misc]"
        )
    if data["kind"] == "mock":
        mock = data["mock"]
        if mock.get("image_size_min", 80) > mock.get("image_size_max", 128):
            raise ConfigError("data.mock.image_size_min is larger than data.mock.image_size_max")
    if data["kind"] == "folder":
        folder = data["folder"]
        if not folder.get("image_column") and not folder.get("image_dir"):
            raise ConfigError("data.folder: give image_column or image_dir")
        unknown = [name for name in folder["class_map"] if name not in config["classes"]]
        if unknown:
            raise ConfigError(f"data.folder.class_map: classes {unknown} are not in classes {config['classes']}")


def _figure_names() -> tuple[str, ...]:
    from .figures import FIGURES

    return FIGURES

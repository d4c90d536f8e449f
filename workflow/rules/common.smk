# Target lists, wildcard constraints and the get_* helpers that the rules call.
# Each helper asks the library (galaxy_pretraining.study); none holds logic of its own.

from dataclasses import asdict

from galaxy_pretraining import study as S
from galaxy_pretraining.figures import FIGURES, module_file

S.check_config(config)

RESULTS = f"results/{config['study']}"
JOBS = S.training_jobs(config)
NA = config["data"].get("nair_abraham", {})


wildcard_constraints:
    model="|".join(map(re.escape, config["models"])),
    run=r"\d{3}",
    long=r"(-e\d+)?",


localrules:
    fetch_catalog,
    download_cutouts,
    fetch_weights,


def get_final_outputs():
    return S.final_targets(config, FIGURES)


def table(name):
    return f"{RESULTS}/tables/{name}.parquet"


def report_table(name):
    """The CSV rendering of a paper table, shown in the HTML report."""
    return report(f"{RESULTS}/tables/{name}.csv", caption=f"../report/{name}.rst", category="Tables")


def figure_outputs(name):
    png = report(f"{RESULTS}/figures/{name}.png", caption=f"../report/{name}.rst", category="Figures")
    return [png, f"{RESULTS}/figures/{name}.pdf"]


def get_figure_arguments(name):
    return S.figure_arguments(config, name)


def get_catalog_input(wildcards):
    kind = config["data"]["kind"]
    if kind == "mock":
        return {"raw": f"{RESULTS}/mock/catalog_raw.parquet", "images": f"{RESULTS}/mock/images"}
    if kind == "nair_abraham":
        return {"raw": "resources/nair_abraham/table2.parquet", "manifest": f"{RESULTS}/download_manifest.parquet"}
    return {"raw": config["data"]["folder"]["table"]}


def get_sample_summary_input(wildcards):
    """The catalog, and the download manifest where cutouts were downloaded."""
    if config["data"]["kind"] == "nair_abraham":
        return [f"{RESULTS}/catalog.parquet", f"{RESULTS}/download_manifest.parquet"]
    return [f"{RESULTS}/catalog.parquet"]


def get_job(wildcards):
    folder = f"runs/{wildcards.model}/run{wildcards.run}{wildcards.long}"
    for job in JOBS:
        if job.folder == folder:
            return job
    raise ValueError(f"{folder} is not a configured training job")


def get_weights_input(wildcards):
    path = S.weights_file(config, wildcards.model)
    return [path] if path else []


def get_train_settings(wildcards):
    job = get_job(wildcards)
    return asdict(S.train_settings(config, job.model, job.run, job.epochs))


def get_train_runtime(wildcards):
    """Minutes to ask the scheduler for: grows with the epochs (1,000-epoch runs ask for more)."""
    return S.train_runtime_minutes(config, get_job(wildcards).epochs)


def get_train_threads(wildcards):
    return config["train_resources"]["threads"]


def get_metrics_paths(wildcards=None):
    return [f"{RESULTS}/{job.folder}/metrics.parquet" for job in JOBS]


def get_metrics_keys(wildcards=None):
    """(model, run, epochs, long_run) of each path of get_metrics_paths, in the same order."""
    return [[job.model, job.run, job.epochs, job.long] for job in JOBS]


def get_weights_architecture(wildcards):
    return S.architecture_of_weights_file(config, wildcards.file_name)

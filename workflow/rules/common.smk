# Target lists, wildcard constraints and the get_* helpers that the rules call.
# Each helper asks the library (galaxy_pretraining.study); none holds logic of its own.

from galaxy_pretraining import study as S
from galaxy_pretraining.caches import use_workflow_caches
from galaxy_pretraining.errors import mark_invocation
from galaxy_pretraining.data.kinds import galaxy10_decals, galaxy_zoo2, mock, nair_abraham

RESULTS = S.results_folder(config)
# Matplotlib's, torch's and other home caches into .cache/ here, for the jobs too: a read-only $HOME stops nothing.
use_workflow_caches()
# One id per snakemake command, inherited by its jobs: a retry of a job that failed in a way a retry cannot fix
# fails at once (errors.not_retried); the next command tries again.
mark_invocation()
# A replaced or re-downloaded image rebuilds the array store (study.refresh_image_digest).
if workflow.is_main_process:
    S.refresh_image_digest(config)
# Every rule runs in the project's one environment (the library and its pins); see docs/development.md.
CONDA_ENV = "../envs/galaxy-pretraining.yaml"
# Partition, GPUs, CPUs and memory of every training job, whatever its rule is called.
TRAIN_RESOURCES = S.train_job_resources(config)


wildcard_constraints:
    model="|".join(map(re.escape, config["models"])),
    table="|".join(S.table_names(config)),
    figure="|".join(S.figure_names(config)),


def get_final_outputs():
    return S.final_targets(config)


def get_catalog_input(wildcards):
    return S.catalog_inputs(config)


def get_table_input(wildcards):
    return S.table_inputs(config, wildcards.table)


def get_table_arguments(wildcards):
    return S.table_arguments(config, wildcards.table)


def get_table_caption(wildcards):
    return S.table_caption(config, wildcards.table)


def get_figure_input(wildcards):
    return S.figure_inputs(config, wildcards.figure)


def get_figure_arguments(wildcards):
    return S.figure_arguments(config, wildcards.figure)


def get_figure_caption(wildcards):
    return S.figure_caption(config, wildcards.figure)


def get_gradcam_input(wildcards):
    return S.model_figure_inputs(config, "gradcam", wildcards.model)


def get_feature_maps_input(wildcards):
    return S.model_figure_inputs(config, "feature_maps", wildcards.model)


def get_gradcam_caption(wildcards):
    return S.gradcam_caption(config, wildcards.model)


def weights_input(model):
    return S.weights_inputs(config, model)


def group_protocols(group):
    return [S.train_settings(config, job).params() for job in group.jobs]


def group_paths(group):
    return [S.run_paths(config, job).params() for job in group.jobs]


def metrics_paths(jobs):
    return [f"{RESULTS}/{job.folder}/metrics.parquet" for job in jobs]


def predictions_paths(jobs):
    return [f"{RESULTS}/{job.folder}/predictions.parquet" for job in jobs]


def metrics_keys(jobs):
    """(model, run, epochs, long_run, train_fraction) of each job, in the order of metrics_paths."""
    return [[job.model, job.run, job.epochs, job.long, job.fraction] for job in jobs]


def get_weights_source(wildcards):
    """[architecture, weights source] of the model whose weights file this is."""
    return S.architecture_of_weights_file(config, wildcards.file_name)

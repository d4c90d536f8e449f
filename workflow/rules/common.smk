# The one Study of this workflow, built once from the resolved config, and the get_* helpers that the rules
# call: each is one line on `study` (galaxy_pretraining.study); none holds logic of its own.

import sys

from galaxy_pretraining.caches import use_workflow_caches
from galaxy_pretraining.data.image_digest import refresh_image_digest
from galaxy_pretraining.data.kinds import galaxy10_decals, galaxy_zoo2, mock, nair_abraham
from galaxy_pretraining.errors import mark_invocation
from galaxy_pretraining.study import Study

study = Study(config)
# Snakemake tells a Snakefile no more than its command line whether this command makes the report.
MAKING_REPORT = "--report" in sys.argv
RESULTS = study.results
# Matplotlib's, torch's and other home caches into .cache/ here, for the jobs too: a read-only $HOME stops nothing.
use_workflow_caches()
# One id per snakemake command, inherited by its jobs: a retry of a job that failed in a way a retry cannot fix
# fails at once (errors.not_retried); the next command tries again.
mark_invocation()
# A replaced or re-downloaded image rebuilds the array store (data.image_digest).
if workflow.is_main_process:
    refresh_image_digest(study.paths.listed_catalog, study.paths.image_digest)
# Every rule runs in the project's one environment (the library and its pins); see docs/development.md.
CONDA_ENV = "../envs/galaxy-pretraining.yaml"


wildcard_constraints:
    model="|".join(map(re.escape, study.model_names)),
    table="|".join(study.table_names),
    figure="|".join(study.figure_names),


def get_catalog_input(wildcards):
    return study.catalog_inputs


def get_table_input(wildcards):
    return study.table_inputs(wildcards.table)


def get_table_arguments(wildcards):
    return study.table_arguments(wildcards.table)


def get_table_caption(wildcards):
    return study.table_caption(wildcards.table, for_report=MAKING_REPORT)


def get_figure_input(wildcards):
    return study.figure_inputs(wildcards.figure)


def get_figure_arguments(wildcards):
    return study.figure_arguments(wildcards.figure)


def get_figure_caption(wildcards):
    return study.figure_caption(wildcards.figure)


def get_gradcam_input(wildcards):
    return study.model_figure_inputs("gradcam", wildcards.model)


def get_feature_maps_input(wildcards):
    return study.model_figure_inputs("feature_maps", wildcards.model)


def get_gradcam_caption(wildcards):
    return study.gradcam_caption(wildcards.model)


def get_feature_maps_caption(wildcards):
    return study.feature_maps_captions(wildcards.model)["filters"]


def get_maps_caption(wildcards):
    return study.feature_maps_captions(wildcards.model)["maps"]


def group_protocols(group):
    """The params of a group's runs: each run's Protocol (training.spec), what changes its numbers."""
    return [study.protocol(job).params() for job in group.jobs]


def group_paths(group):
    """Where each run of a group writes (training.spec.RunPaths), from the study's paths."""
    return [study.paths.run(job).params() for job in group.jobs]


def get_weights_source(wildcards):
    """[architecture, weights source] of the model whose weights file this is."""
    return study.weights_source(wildcards.file_name)

# Schneider, Stenning & Elliott (2023), "Efficient galaxy classification through
# pretraining", as one DAG. The paper's study is config/config.yaml; the offline
# demo is config/demo.yaml. All logic lives in src/galaxy_pretraining.

from snakemake.utils import min_version

min_version("9.0")


# The paper's study by default; `--configfile other.yaml` replaces it whole
# (not merged key by key, so a demo never inherits the paper's models).
if not workflow.overwrite_configfiles:

    configfile: "config/config.yaml"


# Validates against workflow/schemas/config.schema.yaml (one line per problem,
# naming the key), fills in its defaults, then checks what a schema cannot.
from galaxy_pretraining.study import resolve

resolve(config)


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/analysis.smk"
include: "workflow/rules/figures.smk"
include: "workflow/rules/predict.smk"


rule all:
    input:
        study.targets,

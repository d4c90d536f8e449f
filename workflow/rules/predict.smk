# Prediction sets (config key `predict`): galaxies the study never saw, classified by the best weights of an
# arm's runs (docs/predicting.md). Per set: its catalog and image digest (as the study's catalog rule), its
# array store of the study's image size (as the study's array_store rule), then one GPU job that runs every
# chosen run's best.pt over the galaxies' views. params hold what decides the outputs, so a set whose images,
# model, runs, views or embeddings change is made again, and nothing else is. The batch size and device are
# read when the job starts (as training's Machine), so changing them reruns nothing.

# A replaced image of a set rebuilds its array store (data.image_digest).
if workflow.is_main_process:
    for listed, digest in study.prediction_digests():
        refresh_image_digest(listed, digest)


wildcard_constraints:
    prediction_set="|".join(map(re.escape, study.prediction_sets)) or "(?!)",


rule predict_catalog:
    input:
        table=lambda wildcards: study.prediction_table(wildcards.prediction_set),
    output:
        catalog=study.paths.prediction_listed_catalog("{prediction_set}"),
        image_digest=study.paths.prediction_image_digest("{prediction_set}"),
    log:
        f"{RESULTS}/logs/predict/{{prediction_set}}/catalog.log",
    conda:
        CONDA_ENV
    params:
        store=lambda wildcards: study.prediction_store_params(wildcards.prediction_set),
    script:
        "../scripts/predict_catalog.py"


rule predict_store:
    input:
        listed=study.paths.prediction_listed_catalog("{prediction_set}"),
        image_digest=study.paths.prediction_image_digest("{prediction_set}"),
        study_catalog=study.paths.catalog,
    output:
        store=study.paths.prediction_store("{prediction_set}"),
        catalog=study.paths.prediction_catalog("{prediction_set}"),
        image_checks=study.paths.prediction_image_checks("{prediction_set}"),
    log:
        f"{RESULTS}/logs/predict/{{prediction_set}}/array_store.log",
    conda:
        CONDA_ENV
    threads: 4
    resources:
        cpus_per_task=lambda wildcards, threads: threads,
    params:
        store=lambda wildcards: study.prediction_store_params(wildcards.prediction_set),
    script:
        "../scripts/predict_store.py"


# One rule per set (predict_<set>), as training's groups: each lists exactly its outputs (the embeddings only
# where asked for) and states its own GPU, CPUs, memory and time limit (predict.<set>.resources).
for name in study.prediction_sets:

    rule:
        name:
            study.prediction_rule_name(name)
        input:
            **study.prediction_inputs(name),
        output:
            **study.prediction_outputs(name),
        log:
            f"{RESULTS}/logs/predict/{name}/predict.log",
        conda:
            CONDA_ENV
        threads: study.prediction_threads(name)
        resources:
            **study.prediction_resources(name),
        params:
            name=name,
            prediction=study.prediction_params(name),
        script:
            "../scripts/predict.py"


rule predict_calibration:
    input:
        study.paths.set_predictions("{prediction_set}"),
    output:
        table=study.paths.set_calibration("{prediction_set}"),
        figure=report(
            study.paths.set_reliability("{prediction_set}"),
            caption="../report/caption.rst",
            category="Predictions",
            labels={"set": "{prediction_set}", "figure": "reliability"},
        ),
    log:
        f"{RESULTS}/logs/predict/{{prediction_set}}/calibration.log",
    conda:
        CONDA_ENV
    params:
        classes=study.classes,
        prediction=lambda wildcards: study.prediction_params(wildcards.prediction_set),
        caption=lambda wildcards: study.prediction_reliability_caption(wildcards.prediction_set),
    script:
        "../scripts/predict_calibration.py"

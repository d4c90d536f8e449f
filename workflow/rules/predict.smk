# Prediction sets (config key `predict`): galaxies the study never saw, classified by the best weights of an
# arm's runs (docs/predicting.md). Per set: its catalog and image digest (as the study's catalog rule), its
# array store of the study's image size (as the study's array_store rule), then one GPU job that runs every
# chosen run's best.pt over the galaxies' views. params hold what decides the outputs, so a set whose images,
# model, runs, views or embeddings change is made again, and nothing else is.

from galaxy_pretraining.predict import sets as P

if workflow.is_main_process:
    for name in P.set_names(config):
        S.refresh_image_digest(config, P.digest_paths(config, name))


wildcard_constraints:
    prediction_set="|".join(map(re.escape, P.set_names(config))) or "(?!)",


rule predict_catalog:
    input:
        table=lambda wildcards: config["predict"][wildcards.prediction_set]["images"]["table"],
    output:
        catalog=f"{RESULTS}/predict/{{prediction_set}}/catalog_listed.parquet",
        image_digest=f"{RESULTS}/predict/{{prediction_set}}/image_digest.txt",
    log:
        f"{RESULTS}/logs/predict/{{prediction_set}}/catalog.log",
    conda:
        CONDA_ENV
    params:
        store=lambda wildcards: P.store_params(config, wildcards.prediction_set),
    script:
        "../scripts/predict_catalog.py"


rule predict_store:
    input:
        listed=f"{RESULTS}/predict/{{prediction_set}}/catalog_listed.parquet",
        image_digest=f"{RESULTS}/predict/{{prediction_set}}/image_digest.txt",
        study_catalog=f"{RESULTS}/catalog.parquet",
    output:
        store=f"{RESULTS}/predict/{{prediction_set}}/images.npy",
        catalog=f"{RESULTS}/predict/{{prediction_set}}/catalog.parquet",
        image_checks=f"{RESULTS}/predict/{{prediction_set}}/image_checks.parquet",
    log:
        f"{RESULTS}/logs/predict/{{prediction_set}}/array_store.log",
    conda:
        CONDA_ENV
    threads: 4
    resources:
        cpus_per_task=lambda wildcards, threads: threads,
    params:
        store=lambda wildcards: P.store_params(config, wildcards.prediction_set),
    script:
        "../scripts/predict_store.py"


# One rule per set (predict_<set>), as training's groups: each lists exactly its outputs (the embeddings only
# where asked for) and states its own GPU, CPUs, memory and time limit (predict.<set>.resources).
for name in P.set_names(config):

    rule:
        name:
            P.rule_name(name)
        input:
            store=f"{RESULTS}/predict/{name}/images.npy",
            catalog=f"{RESULTS}/predict/{name}/catalog.parquet",
            best_models=P.best_models(config, name),
        output:
            **P.set_outputs(config, name),
        log:
            f"{RESULTS}/logs/predict/{name}/predict.log",
        conda:
            CONDA_ENV
        threads: config["predict"][name]["resources"]["threads"]
        resources:
            **P.job_resources(config, name),
        params:
            name=name,
            prediction=P.set_params(config, name),
        script:
            "../scripts/predict.py"


rule predict_calibration:
    input:
        f"{RESULTS}/predictions/{{prediction_set}}.parquet",
    output:
        f"{RESULTS}/predictions/{{prediction_set}}.calibration.csv",
    log:
        f"{RESULTS}/logs/predict/{{prediction_set}}/calibration.log",
    conda:
        CONDA_ENV
    params:
        classes=config["classes"],
    script:
        "../scripts/predict_calibration.py"

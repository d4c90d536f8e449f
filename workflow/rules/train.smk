# One job per (model, run), and per long run (suffix -e<epochs>). A job draws
# its run's split itself (splits.py: the same rows as splits.parquet), so
# adding runs to the study retrains nothing already done.


rule train:
    input:
        store=f"{RESULTS}/images.npy",
        catalog=f"{RESULTS}/catalog.parquet",
        weights=get_weights_input,
    output:
        metrics=f"{RESULTS}/runs/{{model}}/run{{run}}{{long}}/metrics.parquet",
        predictions=f"{RESULTS}/runs/{{model}}/run{{run}}{{long}}/predictions.parquet",
        best_model=f"{RESULTS}/runs/{{model}}/run{{run}}{{long}}/best.pt",
    log:
        f"{RESULTS}/logs/train/{{model}}/run{{run}}{{long}}.log",
    retries: config["train_resources"]["retries"]
    conda:
        CONDA_ENV
    threads: config["train_resources"]["threads"]
    resources:
        gpu=1,
        runtime=get_train_runtime,
    params:
        settings=get_train_settings,
        classes=config["classes"],
    script:
        "../scripts/train.py"

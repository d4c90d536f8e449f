# One job per (model, run), and per long run (suffix -e<epochs>).


rule train:
    input:
        store=f"{RESULTS}/images.npy",
        catalog=f"{RESULTS}/catalog.parquet",
        splits=f"{RESULTS}/splits.parquet",
        weights=get_weights_input,
    output:
        metrics=f"{RESULTS}/runs/{{model}}/run{{run}}{{long}}/metrics.parquet",
        predictions=f"{RESULTS}/runs/{{model}}/run{{run}}{{long}}/predictions.parquet",
        best_model=f"{RESULTS}/runs/{{model}}/run{{run}}{{long}}/best.pt",
    log:
        f"{RESULTS}/logs/train/{{model}}/run{{run}}{{long}}.log",
    params:
        settings=get_train_settings,
        classes=config["classes"],
    threads: 2
    resources:
        gpu=1,
    script:
        "../scripts/train.py"

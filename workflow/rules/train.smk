# One job per (model, run), per smaller label budget (suffix -f<fraction>) and per
# long run (suffix -e<epochs>). A job draws
# its run's split itself (data/splits.py: the same rows as splits.parquet), so
# adding runs to the study retrains nothing already done.
#
# With train_resources.runs_per_job: k > 1, one job trains k consecutive runs
# of a model one after the other (the store loaded and the model compiled
# once): one rule per group, each listing its runs' outputs at the same paths
# as the one-run rule. See docs/training.md ("Several runs per job").
#
# What the scheduler gives a training job (partition, GPUs, CPUs, memory) is stated
# here on the rule, from config train_resources, not in the profile: a profile's
# set-resources selects rules by name, and the group rules have names of their own.
#
# params hold only what can change a run's numbers (study.protocol_settings): a
# change of device, compile, eval_batch_size, checkpoint_every, threads or the
# compile cache reruns nothing that is finished; the job reads those from the config.


if config["train_resources"]["runs_per_job"] == 1:

    rule train:
        input:
            store=f"{RESULTS}/images.npy",
            catalog=f"{RESULTS}/catalog.parquet",
            weights=get_weights_input,
        output:
            metrics=f"{RESULTS}/runs/{{model}}/run{{run}}{{variant}}/metrics.parquet",
            predictions=f"{RESULTS}/runs/{{model}}/run{{run}}{{variant}}/predictions.parquet",
            best_model=f"{RESULTS}/runs/{{model}}/run{{run}}{{variant}}/best.pt",
        log:
            f"{RESULTS}/logs/train/{{model}}/run{{run}}{{variant}}.log",
        retries: config["train_resources"]["retries"]
        conda:
            CONDA_ENV
        threads: config["train_resources"]["threads"]
        resources:
            **TRAIN_RESOURCES,
            runtime=get_train_runtime,
        params:
            settings=get_train_settings,
            classes=config["classes"],
        script:
            "../scripts/train.py"

else:

    for group in S.training_groups(config):

        rule:
            name:
                group.rule_name
            input:
                store=f"{RESULTS}/images.npy",
                catalog=f"{RESULTS}/catalog.parquet",
                weights=weights_input(group.model),
            output:
                metrics=group_outputs(group, "metrics.parquet"),
                predictions=group_outputs(group, "predictions.parquet"),
                best_model=group_outputs(group, "best.pt"),
            log:
                f"{RESULTS}/logs/train/{group.name}.log",
            retries: config["train_resources"]["retries"]
            conda:
                CONDA_ENV
            threads: config["train_resources"]["threads"]
            resources:
                **TRAIN_RESOURCES,
                runtime=S.train_runtime_minutes(config, group.epochs),
            params:
                settings=group_settings(group),
                classes=config["classes"],
            script:
                "../scripts/train.py"

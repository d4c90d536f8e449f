# One job per group of runs: train_resources.runs_per_job consecutive runs of a
# model (standard, on a label budget -f<fraction>, or long -e<epochs>) trained
# one after the other, the store loaded and the model compiled once. Each group
# is a rule of its own (train_<model>_run000_009, or train_<model>_run000 for one
# run) that lists exactly its runs' outputs: metrics and best-epoch predictions
# of every run, best.pt only where it is kept (config best_weights). A job draws
# its runs' splits itself (data/splits.py: the same rows as splits.parquet), so adding
# runs to the study retrains nothing already done. See docs/training.md.
#
# What the scheduler gives a training job (partition, GPUs, CPUs, memory) is stated
# here on the rule, from config train_resources, not in the profile: a profile's
# set-resources selects rules by name, and the group rules have names of their own.
#
# params: each run's protocol (training.spec.Protocol: what can change its numbers)
# and its paths (training.spec.RunPaths). A change of device, compile,
# eval_batch_size, checkpoint_every, threads or the compile cache reruns nothing
# that is finished: the job reads those (training.spec.Machine) when it starts.


for group in study.groups:

    rule:
        name:
            group.rule_name
        input:
            store=study.paths.store,
            catalog=study.paths.catalog,
            weights=study.weights_inputs(group.model),
        output:
            **study.group_outputs(group),
        log:
            f"{RESULTS}/logs/train/{group.name}.log",
        retries: study.train_retries
        conda:
            CONDA_ENV
        threads: study.train_threads
        resources:
            **study.train_resources,
            runtime=study.train_runtime(group),
        params:
            protocols=group_protocols(group),
            paths=group_paths(group),
        script:
            "../scripts/train.py"

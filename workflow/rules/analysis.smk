# Tables derived only from the runs' outputs. `curves` gathers every run's
# metrics and every standard run's best-epoch test predictions (ROC curves,
# AUC) in one step; the wildcard rule `table` makes any table of the registry
# (galaxy_pretraining.tables.TABLES). On a cluster the small table and figure
# steps of group "summary" go out as one CPU job: one gathering step keeps
# them one connected piece of the graph.


rule curves:
    input:
        metrics=study.curve_inputs(study.full_label_jobs, "metrics"),
        predictions=study.curve_inputs(study.standard_full_label_jobs, "predictions"),
    output:
        curves=study.paths.table("curves"),
        predictions=study.paths.table("predictions"),
    log:
        f"{RESULTS}/logs/tables/curves.log",
    group:
        "summary"
    conda:
        CONDA_ENV
    threads: 1
    resources:
        **study.summary_resources,
    params:
        runs=study.curve_runs(study.full_label_jobs),
        prediction_runs=study.curve_runs(study.standard_full_label_jobs),
        max_iterations=study.max_iterations,
    script:
        "../scripts/curves.py"


# The standard runs at every label budget (splits.train_fractions), for the label-budget tables.
rule label_budget_curves:
    input:
        metrics=study.curve_inputs(study.label_budget_jobs, "metrics"),
    output:
        curves=study.paths.table("label_budget_curves"),
    log:
        f"{RESULTS}/logs/tables/label_budget_curves.log",
    group:
        "summary"
    conda:
        CONDA_ENV
    threads: 1
    resources:
        **study.summary_resources,
    params:
        runs=study.curve_runs(study.label_budget_jobs),
        max_iterations=study.max_iterations,
    script:
        "../scripts/curves.py"


rule table:
    input:
        unpack(get_table_input),
    output:
        parquet=study.paths.table("{table}"),
        csv=report(
            study.paths.table("{table}", "csv"),
            caption="../report/caption.rst",
            category="Tables",
            labels={"table": "{table}"},
        ),
    log:
        f"{RESULTS}/logs/tables/{{table}}.log",
    group:
        "summary"
    conda:
        CONDA_ENV
    threads: 1
    resources:
        **study.summary_resources,
    params:
        arguments=get_table_arguments,
        caption=get_table_caption,
    script:
        "../scripts/table.py"

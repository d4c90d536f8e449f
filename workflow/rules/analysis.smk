# Tables derived only from the runs' outputs. `curves` gathers every run's
# metrics and every standard run's best-epoch test predictions (ROC curves,
# AUC) in one step; the wildcard rule `table` makes any table of the registry
# (galaxy_pretraining.tables.TABLES). On a cluster the small table and figure
# steps of group "summary" go out as one CPU job: one gathering step keeps
# them one connected piece of the graph.


rule curves:
    input:
        metrics=metrics_paths(S.full_label_jobs(config)),
        predictions=predictions_paths(S.standard_full_label_jobs(config)),
    output:
        curves=f"{RESULTS}/tables/curves.parquet",
        predictions=f"{RESULTS}/tables/predictions.parquet",
    log:
        f"{RESULTS}/logs/tables/curves.log",
    group:
        "summary"
    conda:
        CONDA_ENV
    params:
        jobs=metrics_keys(S.full_label_jobs(config)),
        prediction_jobs=metrics_keys(S.standard_full_label_jobs(config)),
        max_iterations=config["training"]["max_iterations"],
    script:
        "../scripts/curves.py"


# The standard runs at every label budget (splits.train_fractions), for the label-budget tables.
rule label_budget_curves:
    input:
        metrics=metrics_paths(S.label_budget_jobs(config)),
    output:
        curves=f"{RESULTS}/tables/label_budget_curves.parquet",
    log:
        f"{RESULTS}/logs/tables/label_budget_curves.log",
    group:
        "summary"
    conda:
        CONDA_ENV
    params:
        jobs=metrics_keys(S.label_budget_jobs(config)),
        max_iterations=config["training"]["max_iterations"],
    script:
        "../scripts/curves.py"


rule table:
    input:
        unpack(get_table_input),
    output:
        parquet=f"{RESULTS}/tables/{{table}}.parquet",
        csv=report(
            f"{RESULTS}/tables/{{table}}.csv",
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
    params:
        arguments=get_table_arguments,
        caption=get_table_caption,
    script:
        "../scripts/table.py"

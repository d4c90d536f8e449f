# Tables derived only from the per-epoch metrics tables.


rule curves:
    input:
        get_metrics_paths,
    output:
        f"{RESULTS}/tables/curves.parquet",
    log:
        f"{RESULTS}/logs/curves.log",
    params:
        jobs=get_metrics_keys,
    script:
        "../scripts/curves.py"


rule peak_accuracy:
    input:
        f"{RESULTS}/tables/curves.parquet",
    output:
        f"{RESULTS}/tables/peak_accuracy.parquet",
    log:
        f"{RESULTS}/logs/peak_accuracy.log",
    params:
        budgets=config.get("analysis", {}).get("budgets", [5, 10, 20, 50, 200, 400, 1000]),
    script:
        "../scripts/peak_accuracy.py"


rule table1_budgets:
    input:
        f"{RESULTS}/tables/peak_accuracy.parquet",
    output:
        parquet=f"{RESULTS}/tables/table1_budgets.parquet",
        csv=f"{RESULTS}/tables/table1_budgets.csv",
    log:
        f"{RESULTS}/logs/table1_budgets.log",
    script:
        "../scripts/table1_budgets.py"

# Tables derived only from the per-epoch metrics tables. Each rule runs the
# library step of the same name (galaxy_pretraining.steps). On a cluster the
# small table and figure steps of group "summary" go out as one CPU job.


rule curves:
    input:
        get_metrics_paths,
    output:
        table("curves"),
    log:
        f"{RESULTS}/logs/curves.log",
    params:
        jobs=get_metrics_keys,
    group:
        "summary"
    script:
        "../scripts/analysis.py"


rule peak_accuracy:
    input:
        table("curves"),
    output:
        table("peak_accuracy"),
    log:
        f"{RESULTS}/logs/peak_accuracy.log",
    params:
        budgets=S.analysis_budgets(config),
    group:
        "summary"
    script:
        "../scripts/analysis.py"


rule table1_budgets:
    input:
        table("peak_accuracy"),
    output:
        table("table1_budgets"),
        report_table("table1_budgets"),
    log:
        f"{RESULTS}/logs/table1_budgets.log",
    group:
        "summary"
    script:
        "../scripts/analysis.py"


rule best_epoch_confusions:
    input:
        table("curves"),
        table("peak_accuracy"),
    output:
        table("best_epoch_confusions"),
    log:
        f"{RESULTS}/logs/best_epoch_confusions.log",
    group:
        "summary"
    script:
        "../scripts/analysis.py"


rule per_class:
    input:
        table("best_epoch_confusions"),
    output:
        table("per_class"),
    log:
        f"{RESULTS}/logs/per_class.log",
    params:
        classes=config["classes"],
    group:
        "summary"
    script:
        "../scripts/analysis.py"


rule table2_class_accuracy:
    input:
        table("per_class"),
    output:
        table("table2_class_accuracy"),
        report_table("table2_class_accuracy"),
    log:
        f"{RESULTS}/logs/table2_class_accuracy.log",
    params:
        classes=config["classes"],
    group:
        "summary"
    script:
        "../scripts/analysis.py"


rule table4_precision_recall_f1:
    input:
        table("per_class"),
    output:
        table("table4_precision_recall_f1"),
        report_table("table4_precision_recall_f1"),
    log:
        f"{RESULTS}/logs/table4_precision_recall_f1.log",
    params:
        classes=config["classes"],
    group:
        "summary"
    script:
        "../scripts/analysis.py"


rule confusion_summary:
    input:
        table("best_epoch_confusions"),
    output:
        table("confusion_summary"),
    log:
        f"{RESULTS}/logs/confusion_summary.log",
    group:
        "summary"
    script:
        "../scripts/analysis.py"


rule gains:
    input:
        table("peak_accuracy"),
    output:
        table("gains"),
    log:
        f"{RESULTS}/logs/gains.log",
    params:
        pairs=S.model_pairs(config),
    group:
        "summary"
    script:
        "../scripts/analysis.py"


rule sign_tests:
    input:
        table("gains"),
    output:
        table("sign_tests"),
        report_table("sign_tests"),
    log:
        f"{RESULTS}/logs/sign_tests.log",
    group:
        "summary"
    script:
        "../scripts/analysis.py"


rule table3_long_runs:
    input:
        table("peak_accuracy"),
    output:
        table("table3_long_runs"),
        report_table("table3_long_runs"),
    log:
        f"{RESULTS}/logs/table3_long_runs.log",
    group:
        "summary"
    script:
        "../scripts/analysis.py"

# One rule per figure, each reading only analysis tables.


rule figure_test_accuracy_curves:
    input:
        f"{RESULTS}/tables/curves.parquet",
    output:
        report(
            f"{RESULTS}/figures/test_accuracy_curves.png",
            caption="../report/test_accuracy_curves.rst",
            category="Figures",
        ),
    log:
        f"{RESULTS}/logs/figure_test_accuracy_curves.log",
    params:
        models=list(config["models"]),
    script:
        "../scripts/figure_test_accuracy_curves.py"

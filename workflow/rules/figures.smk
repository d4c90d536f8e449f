# One rule per figure, each reading only analysis tables. The figure's module is an
# input too: editing one figure's code (or its `figures.<name>` options) reruns it alone.


rule figure_test_accuracy_curves:
    input:
        curves=table("curves"),
        module=module_file("test_accuracy_curves"),
    output:
        figure_outputs("test_accuracy_curves"),
    log:
        f"{RESULTS}/logs/figure_test_accuracy_curves.log",
    params:
        figure="test_accuracy_curves",
        arguments=get_figure_arguments("test_accuracy_curves"),
    group:
        "summary"
    script:
        "../scripts/figure.py"


rule figure_peak_histograms:
    input:
        peaks=table("peak_accuracy"),
        module=module_file("peak_histograms"),
    output:
        figure_outputs("peak_histograms"),
    log:
        f"{RESULTS}/logs/figure_peak_histograms.log",
    params:
        figure="peak_histograms",
        arguments=get_figure_arguments("peak_histograms"),
    group:
        "summary"
    script:
        "../scripts/figure.py"


rule figure_gain_histograms:
    input:
        gains=table("gains"),
        module=module_file("gain_histograms"),
    output:
        figure_outputs("gain_histograms"),
    log:
        f"{RESULTS}/logs/figure_gain_histograms.log",
    params:
        figure="gain_histograms",
        arguments=get_figure_arguments("gain_histograms"),
    group:
        "summary"
    script:
        "../scripts/figure.py"


rule figure_equal_budget_gain:
    input:
        gains=table("gains"),
        module=module_file("equal_budget_gain"),
    output:
        figure_outputs("equal_budget_gain"),
    log:
        f"{RESULTS}/logs/figure_equal_budget_gain.log",
    params:
        figure="equal_budget_gain",
        arguments=get_figure_arguments("equal_budget_gain"),
    group:
        "summary"
    script:
        "../scripts/figure.py"


rule figure_budget_gains:
    input:
        peaks=table("peak_accuracy"),
        module=module_file("budget_gains"),
    output:
        figure_outputs("budget_gains"),
    log:
        f"{RESULTS}/logs/figure_budget_gains.log",
    params:
        figure="budget_gains",
        arguments=get_figure_arguments("budget_gains"),
    group:
        "summary"
    script:
        "../scripts/figure.py"


rule figure_training_curves:
    input:
        curves=table("curves"),
        module=module_file("training_curves"),
    output:
        figure_outputs("training_curves"),
    log:
        f"{RESULTS}/logs/figure_training_curves.log",
    params:
        figure="training_curves",
        arguments=get_figure_arguments("training_curves"),
    group:
        "summary"
    script:
        "../scripts/figure.py"


rule figure_per_class_histograms:
    input:
        per_class=table("per_class"),
        module=module_file("per_class_histograms"),
    output:
        figure_outputs("per_class_histograms"),
    log:
        f"{RESULTS}/logs/figure_per_class_histograms.log",
    params:
        figure="per_class_histograms",
        arguments=get_figure_arguments("per_class_histograms"),
    group:
        "summary"
    script:
        "../scripts/figure.py"


rule figure_confusion_matrices:
    input:
        confusions=table("best_epoch_confusions"),
        module=module_file("confusion_matrices"),
    output:
        figure_outputs("confusion_matrices"),
    log:
        f"{RESULTS}/logs/figure_confusion_matrices.log",
    params:
        figure="confusion_matrices",
        arguments=get_figure_arguments("confusion_matrices"),
    group:
        "summary"
    script:
        "../scripts/figure.py"


rule figure_mean_confusion_matrices:
    input:
        summary=table("confusion_summary"),
        module=module_file("mean_confusion_matrices"),
    output:
        figure_outputs("mean_confusion_matrices"),
    log:
        f"{RESULTS}/logs/figure_mean_confusion_matrices.log",
    params:
        figure="mean_confusion_matrices",
        arguments=get_figure_arguments("mean_confusion_matrices"),
    group:
        "summary"
    script:
        "../scripts/figure.py"

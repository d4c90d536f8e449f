# One wildcard rule draws any figure of the registry (galaxy_pretraining.figures),
# each from analysis tables only. The figure's module is an input: editing one
# figure's code (or its `figures.<name>` options, a param) redraws it alone.


rule figure:
    input:
        unpack(get_figure_input),
    output:
        png=report(
            f"{RESULTS}/figures/{{figure}}.png",
            caption="../report/caption.rst",
            category="Figures",
            labels={"figure": "{figure}"},
        ),
        pdf=f"{RESULTS}/figures/{{figure}}.pdf",
    log:
        f"{RESULTS}/logs/figures/{{figure}}.log",
    group:
        "summary"
    conda:
        CONDA_ENV
    params:
        arguments=get_figure_arguments,
        caption=get_figure_caption,
    script:
        "../scripts/figure.py"


# Grad-CAM maps of each model's best epoch in one run (config key `gradcam`; none when null).
rule gradcam:
    input:
        unpack(get_gradcam_input),
    output:
        png=report(
            f"{RESULTS}/figures/gradcam/{{model}}.png",
            caption="../report/caption.rst",
            category="Grad-CAM",
            labels={"model": "{model}"},
        ),
        pdf=f"{RESULTS}/figures/gradcam/{{model}}.pdf",
    log:
        f"{RESULTS}/logs/figures/gradcam/{{model}}.log",
    group:
        "summary"
    conda:
        CONDA_ENV
    params:
        galaxies_per_class=lambda wildcards: config["gradcam"]["galaxies_per_class"],
        caption=get_gradcam_caption,
    script:
        "../scripts/gradcam.py"

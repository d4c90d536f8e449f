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


# First-layer filters and one galaxy's feature maps per layer of each model's best epoch in one run
# (config key `feature_maps`; none when null).
rule feature_maps:
    input:
        unpack(get_feature_maps_input),
    output:
        filters_png=report(
            f"{RESULTS}/figures/first_layer_filters/{{model}}.png",
            caption="../report/caption.rst",
            category="First-layer filters",
            labels={"model": "{model}"},
        ),
        filters_pdf=f"{RESULTS}/figures/first_layer_filters/{{model}}.pdf",
        maps_png=report(
            f"{RESULTS}/figures/feature_maps/{{model}}.png",
            caption="../report/maps_caption.rst",
            category="Feature maps",
            labels={"model": "{model}"},
        ),
        maps_pdf=f"{RESULTS}/figures/feature_maps/{{model}}.pdf",
    log:
        f"{RESULTS}/logs/figures/feature_maps/{{model}}.log",
    group:
        "summary"
    conda:
        CONDA_ENV
    params:
        options=lambda wildcards: config["feature_maps"],
        caption=lambda wildcards: S.feature_maps_captions(config, wildcards.model)["filters"],
        maps_caption=lambda wildcards: S.feature_maps_captions(config, wildcards.model)["maps"],
    script:
        "../scripts/feature_maps.py"

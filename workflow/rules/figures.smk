# One wildcard rule draws any figure of the registry (galaxy_pretraining.figures),
# each from analysis tables only. The figure's module is an input: editing one
# figure's code (or its `figures.<name>` options, a param) redraws it alone.


rule figure:
    input:
        unpack(get_figure_input),
    output:
        png=report(
            study.paths.figure("{figure}"),
            caption="../report/caption.rst",
            category="Figures",
            labels={"figure": "{figure}"},
        ),
        pdf=study.paths.figure("{figure}", "pdf"),
    log:
        f"{RESULTS}/logs/figures/{{figure}}.log",
    group:
        "summary"
    conda:
        CONDA_ENV
    threads: 1
    resources:
        **study.summary_resources,
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
            study.paths.model_figures("gradcam", "{model}")[0],
            caption="../report/caption.rst",
            category="Grad-CAM",
            labels={"model": "{model}"},
        ),
        pdf=study.paths.model_figures("gradcam", "{model}")[1],
    log:
        f"{RESULTS}/logs/figures/gradcam/{{model}}.log",
    group:
        "summary"
    conda:
        CONDA_ENV
    threads: 1
    resources:
        **study.model_figure_resources,
    params:
        galaxies_per_class=lambda wildcards: study.gradcam_galaxies_per_class,
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
            study.paths.model_figures("first_layer_filters", "{model}")[0],
            caption="../report/caption.rst",
            category="First-layer filters",
            labels={"model": "{model}"},
        ),
        filters_pdf=study.paths.model_figures("first_layer_filters", "{model}")[1],
        maps_png=report(
            study.paths.model_figures("feature_maps", "{model}")[0],
            caption="../report/maps_caption.rst",
            category="Feature maps",
            labels={"model": "{model}"},
        ),
        maps_pdf=study.paths.model_figures("feature_maps", "{model}")[1],
    log:
        f"{RESULTS}/logs/figures/feature_maps/{{model}}.log",
    group:
        "summary"
    conda:
        CONDA_ENV
    threads: 1
    resources:
        **study.model_figure_resources,
    params:
        options=lambda wildcards: study.feature_maps_options,
        caption=get_feature_maps_caption,
        maps_caption=get_maps_caption,
    script:
        "../scripts/feature_maps.py"

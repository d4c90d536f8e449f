"""The Grad-CAM figure of one model: its best epoch in the chosen run, as PNG and PDF."""

from galaxy_pretraining.figures.inspection.gradcam import render
from galaxy_pretraining.logs import log_to

with log_to(snakemake.log[0]):
    render(snakemake.input.best_model, snakemake.input.store, snakemake.input.predictions,
           snakemake.params.galaxies_per_class, snakemake.wildcards.model, list(snakemake.output))

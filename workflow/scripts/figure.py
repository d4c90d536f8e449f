# One figure of the registry (galaxy_pretraining.figures), as PNG and PDF.
from galaxy_pretraining.figures import render
from galaxy_pretraining.logs import log_to

with log_to(snakemake.log[0]):
    inputs = {key: path for key, path in snakemake.input.items() if key != "module"}
    render(snakemake.wildcards.figure, inputs, list(snakemake.output), dict(snakemake.params.arguments))

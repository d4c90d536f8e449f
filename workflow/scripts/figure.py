"""One figure of the registry (galaxy_pretraining.figures), as PNG and PDF."""

from galaxy_pretraining.figures import render
from galaxy_pretraining.logs import log_to

with log_to(snakemake.log[0]):
    # render() reads the figure's tables among the inputs; "module" is there only to rerun on an edit.
    render(snakemake.wildcards.figure, dict(snakemake.input), list(snakemake.output), dict(snakemake.params.arguments))

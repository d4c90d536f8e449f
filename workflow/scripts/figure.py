# Every figure rule: draw the named figure from its input tables.
from galaxy_pretraining.figures.render import render
from galaxy_pretraining.logs import log_to

with log_to(snakemake.log[0]):
    render(snakemake.params.figure, dict(snakemake.input), list(snakemake.output), dict(snakemake.params.arguments))

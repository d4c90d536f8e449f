# Every analysis rule: the library step named like the rule.
from galaxy_pretraining import steps
from galaxy_pretraining.logs import log_to

with log_to(snakemake.log[0]):
    getattr(steps, snakemake.rule)(list(snakemake.input), list(snakemake.output), dict(snakemake.params))

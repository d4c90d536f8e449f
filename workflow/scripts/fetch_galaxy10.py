"""Rule fetch_galaxy10: the Galaxy10 DECaLS file, checked against its SHA-256."""

from galaxy_pretraining.data.download import fetch_verified
from galaxy_pretraining.logs import log_to

settings = snakemake.params.settings
with log_to(snakemake.log[0]):
    fetch_verified(settings["url"], snakemake.output[0], settings["sha256"], settings["max_attempts"],
                   settings["timeout_seconds"])

"""Rule fetch_catalog: Nair & Abraham's table from VizieR."""

from galaxy_pretraining.data.kinds.nair_abraham.vizier import fetch_nair_abraham
from galaxy_pretraining.logs import log_to

settings = snakemake.params.settings
with log_to(snakemake.log[0]):
    fetch_nair_abraham(snakemake.output[0], settings["vizier_server"], settings["vizier_table"])

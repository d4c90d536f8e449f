"""Rule mock_galaxy_zoo2: mock Kaggle Galaxy Zoo 2 files."""

from pathlib import Path

from galaxy_pretraining.data.kinds.galaxy_zoo2.galaxy_zoo2 import write_mock_kaggle
from galaxy_pretraining.logs import log_to

with log_to(snakemake.log[0]):
    write_mock_kaggle(Path(snakemake.output[0]).parent, **snakemake.params.mock)

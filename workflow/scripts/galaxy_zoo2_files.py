"""Rule galaxy_zoo2_files: fail with what to download when Kaggle's Galaxy Zoo 2 files are missing."""

# The message (which files, where to get them, where to put them) goes to the terminal and to the log.
from pathlib import Path

from galaxy_pretraining.data.kinds.galaxy_zoo2.galaxy_zoo2 import require_kaggle_files

try:
    require_kaggle_files(snakemake.params.folder)
except Exception as error:
    Path(snakemake.log[0]).parent.mkdir(parents=True, exist_ok=True)
    Path(snakemake.log[0]).write_text(f"{error}\n")
    raise

"""Run the GPU study: `python benchmarks/gpu_study [prepare] [options]` from the repository root."""

import sys
from pathlib import Path

# As for every script of benchmarks/: common.py, gpu_epoch.py and this package import from that folder.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gpu_study.cli import main  # noqa: E402

if __name__ == "__main__":
    main()

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED_GZ1 = ROOT.parent / "shared" / "data" / "gz1-sdss"
PYTHON_BIN = Path(sys.executable).parent


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def snakemake_exe() -> str:
    exe = PYTHON_BIN / "snakemake"
    if not exe.exists():
        pytest.fail(f"snakemake is not installed beside {sys.executable}; run `make test`")
    return str(exe)


@pytest.fixture(scope="session")
def gz1_sdss() -> Path:
    if not (SHARED_GZ1 / "labels.csv").exists():
        pytest.skip(f"real SDSS test images not found at {SHARED_GZ1} (only present beside the CI checkout)")
    return SHARED_GZ1

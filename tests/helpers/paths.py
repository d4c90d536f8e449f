"""The project's folders and the fixture files the tests read."""

import sys
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
ROOT = TESTS.parent
DATA = TESTS / "data"  # fixture files
VIZIER_FIXTURE = DATA / "nair_abraham_table2_sample.vot"
SHARED_GZ1 = ROOT.parent / "shared" / "data" / "gz1-sdss"
PYTHON_BIN = Path(sys.executable).parent

"""What the tests share that is not a fixture: local servers (file, Hugging Face hub, SDSS cutouts), a headless
browser, a one-node SLURM cluster, the network-use scan, the project's paths and small configs, studies and tables.

Tests import these as `from helpers.<module> import ...` (pytest puts tests/, the folder of conftest.py, on
sys.path); the fixtures themselves live in tests/conftest.py.
"""

"""Small configs of the shipped ones, for tests that run or dry-run the workflow."""

from .paths import ROOT


def small_demo_config(study: str, n_galaxies: int, image_size: int, runs: int, test_size: int) -> dict:
    """config/demo.yaml shrunk to a study of seconds: 2 epochs per model, 32 px crops, budgets 1 and 2."""
    import yaml

    config = yaml.safe_load((ROOT / "config/demo.yaml").read_text())
    config["study"] = study
    config["data"]["mock"].update(n_galaxies=n_galaxies, image_size_min=48, image_size_max=64)
    config["image_size"] = image_size
    config["splits"].update(runs=runs, test_size=test_size)
    for spec in config["models"].values():
        spec["epochs"] = 2
    config["training"].update(crop_size=32, batch_size=32)
    config["analysis"].update(budgets=[1, 2], example_run=runs - 1)
    config["figures"] = {"budget_gains": {"budgets": [1]}}
    return config


def data_block(kind: str, **settings) -> dict:
    """A resolved config `data` block of one kind: the schema's defaults, then `settings`."""
    from galaxy_pretraining.config import schema_defaults

    block = {**schema_defaults("data", kind), **settings}
    return {"kind": kind, kind: block}

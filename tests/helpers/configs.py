"""Small configs of the shipped ones, for tests that run or dry-run the workflow."""

from .paths import DATA, ROOT

CONFIGS = ROOT / "tests/configs"


def case_config(name: str) -> dict:
    """The end-to-end case `name`: tests/configs/<name>.yaml, one file per feature (as rna-seq's .test/config_*)."""
    import yaml

    return yaml.safe_load((CONFIGS / f"{name}.yaml").read_text())


def data_block(kind: str, **settings) -> dict:
    """A resolved config `data` block of one kind: the schema's defaults, then `settings`."""
    from galaxy_pretraining.config import schema_defaults

    block = {**schema_defaults("data", kind), **settings}
    return {"kind": kind, kind: block}


def cluster_case_config(study: str) -> dict:
    """The study of the cases slurm-mem-per-cpu, home-readonly and compile-cache-ignored: their 40 JPEGs of 32 px
    (tests/data/cases/cluster-node), EfficientNet-Lite0 from scratch for 2 epochs, the schema's train_resources."""
    sample = DATA / "cases/cluster-node"
    return {
        "study": study,
        "data": {"kind": "folder", "folder": {
            "table": str(sample / "labels.csv"), "id_column": "id", "label_column": "label",
            "image_dir": str(sample / "images"), "image_pattern": "{id}.jpg",
            "class_map": {"elliptical": [0], "spiral": [1]}}},
        "classes": ["elliptical", "spiral"],
        "image_size": 32,
        "splits": {"runs": 1, "test_size": 8, "seed": 2023},
        "models": {"lite-scratch": {"architecture": "efficientnet_lite0", "weights": "none", "epochs": 2}},
        "training": {"batch_size": 16, "optimizer": {"name": "adam", "lr": 0.001}, "crop_size": 32,
                     "evaluation": "center", "device": "cpu", "checkpoint_every": 1},
        "analysis": {"budgets": [1, 2]},
        "train_resources": {"threads": 2},
    }

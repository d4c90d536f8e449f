"""Galaxy Zoo 2 in the Kaggle layout: reading the vote fractions and cutting the clean five-class sample.

The folders here are written by the tests in the layout of Kaggle's Galaxy Zoo
challenge data (kaggle.com/c/galaxy-zoo-the-galaxy-challenge): training_solutions_rev1.csv with GalaxyID and the 37
columns Class1.1 ... Class11.6, and images_training_rev1/<GalaxyID>.jpg.
"""

import copy
import logging
import subprocess

import numpy as np
import pandas as pd
import pytest
import yaml
from PIL import Image

from galaxy_pretraining import study
from galaxy_pretraining.config import schema_defaults
from galaxy_pretraining.data.catalog import CatalogError
from galaxy_pretraining.data.kinds import galaxy_zoo2 as kind
from galaxy_pretraining.data.kinds.galaxy_zoo2.galaxy_zoo2 import catalog_from_kaggle, read_solutions, select_clean_sample

QUESTIONS = {1: 3, 2: 2, 3: 2, 4: 2, 5: 4, 6: 2, 7: 3, 8: 7, 9: 3, 10: 3, 11: 6}  # answers per question
COLUMNS = [f"Class{q}.{a}" for q, n in QUESTIONS.items() for a in range(1, n + 1)]
CLASSES = ["round-smooth", "in-between-smooth", "cigar-smooth", "edge-on", "spiral"]

# GalaxyID -> the fractions that matter (weighted down the tree as Kaggle's are); every other column 0.
ROWS = {
    "100008": {"Class1.1": 0.9, "Class1.2": 0.1, "Class7.1": 0.7, "Class7.2": 0.2},            # round smooth
    "100023": {"Class1.1": 0.6, "Class1.2": 0.4, "Class7.2": 0.5, "Class7.3": 0.1},            # in-between
    "100053": {"Class1.1": 0.8, "Class1.2": 0.2, "Class7.3": 0.55, "Class7.2": 0.25},          # cigar
    "100078": {"Class1.1": 0.1, "Class1.2": 0.9, "Class2.1": 0.8, "Class2.2": 0.1},            # edge-on
    "100090": {"Class1.2": 0.95, "Class2.2": 0.9, "Class4.1": 0.8, "Class4.2": 0.1},           # spiral
    "100122": {"Class1.1": 0.47, "Class1.2": 0.5, "Class1.3": 0.03, "Class7.1": 0.3,           # smooth, but no
               "Class7.2": 0.17, "Class2.1": 0.05, "Class2.2": 0.45},                           # shape >= 0.5
    "100123": {"Class1.1": 1.0, "Class7.1": 0.5, "Class7.2": 0.5},                             # round and in-between
    "100134": {"Class1.1": 0.3, "Class1.2": 0.3, "Class1.3": 0.4},                             # in no class
}
EXPECTED = {"100008": 0, "100023": 1, "100053": 2, "100078": 3, "100090": 4}


def kaggle_folder(root, rows=ROWS, images=True):
    table = pd.DataFrame([{"GalaxyID": galaxy, **{c: values.get(c, 0.0) for c in COLUMNS}}
                          for galaxy, values in rows.items()])
    root.mkdir(parents=True, exist_ok=True)
    table.to_csv(root / "training_solutions_rev1.csv", index=False)
    if images:
        (root / "images_training_rev1").mkdir(exist_ok=True)
        for galaxy in rows:
            Image.fromarray(np.full((24, 24, 3), 90, np.uint8)).save(root / "images_training_rev1" / f"{galaxy}.jpg")
    return root


def paper_selection():
    return schema_defaults("data", "galaxy_zoo2")["selection"]


def test_the_default_selection_is_the_papers_table_1():
    settings = schema_defaults("data", "galaxy_zoo2")
    assert list(settings["selection"]) == CLASSES
    assert settings["selection"]["spiral"] == [{"column": "Class1.2", "min": 0.430}, {"column": "Class2.2", "min": 0.715},
                                               {"column": "Class4.1", "min": 0.619}]
    assert sum(settings["expected_class_counts"].values()) == 28_790
    assert settings["overlap"] == "drop"


def test_the_clean_sample_takes_each_galaxy_whose_cuts_hold_and_drops_the_ambiguous(tmp_path, caplog):
    caplog.set_level(logging.INFO)
    catalog = catalog_from_kaggle(kaggle_folder(tmp_path / "gz2"), paper_selection(), CLASSES, "drop", "weighted")
    assert dict(zip(catalog["id"], catalog["class_index"])) == EXPECTED
    assert catalog["image_path"].iloc[0].endswith("images_training_rev1/100008.jpg")
    assert ("galaxy_zoo2: clean sample cut (galaxies=8, kept=5, fractions=weighted, ambiguous=1, in_no_class=2)"
            in caplog.text)
    with pytest.raises(CatalogError, match="1 galaxies meet the cuts of two classes, first GalaxyID 100123 "
                                           r"\(round-smooth, in-between-smooth\)"):
        catalog_from_kaggle(tmp_path / "gz2", paper_selection(), CLASSES, "error", "weighted")


def test_a_cut_holds_at_its_threshold():
    table = pd.DataFrame({"GalaxyID": ["1", "2"], "Class1.1": [0.469, 0.4689], "Class7.1": [0.5, 0.9]})
    sample, _ = select_clean_sample(table, {"round": [{"column": "Class1.1", "min": 0.469},
                                                      {"column": "Class7.1", "min": 0.5}]}, ["round"], "drop")
    assert sample["GalaxyID"].tolist() == ["1"]


@pytest.mark.parametrize("value, shown", [("1.2", "1.2"), ("-0.1", "-0.1"), ("", "empty"), ("abc", "abc")])
def test_a_fraction_that_is_missing_or_out_of_range_is_an_error_naming_the_galaxy(tmp_path, value, shown):
    folder = kaggle_folder(tmp_path / "gz2", images=False)
    table = pd.read_csv(folder / "training_solutions_rev1.csv", dtype=str)
    table.loc[3, "Class2.1"] = value
    table.to_csv(folder / "training_solutions_rev1.csv", index=False)
    with pytest.raises(CatalogError, match=f"GalaxyID 100078 \\(row 5 of the file\\): Class2.1 is {shown}"):
        read_solutions(folder / "training_solutions_rev1.csv", ["Class1.1", "Class2.1"])


def test_a_missing_column_image_or_file_is_an_error_naming_it(tmp_path):
    folder = kaggle_folder(tmp_path / "gz2")
    table = pd.read_csv(folder / "training_solutions_rev1.csv").drop(columns=["Class4.1"])
    table.to_csv(folder / "training_solutions_rev1.csv", index=False)
    with pytest.raises(CatalogError, match="no column 'Class4.1'"):
        catalog_from_kaggle(folder, paper_selection(), CLASSES, "drop", "weighted")
    kaggle_folder(folder)
    (folder / "images_training_rev1/100090.jpg").unlink()
    with pytest.raises(CatalogError, match="1 image file.*100090.jpg"):
        catalog_from_kaggle(folder, paper_selection(), CLASSES, "drop", "weighted")
    with pytest.raises(CatalogError, match="needs training_solutions_rev1.csv.*Kaggle login.*kaggle.com"):
        catalog_from_kaggle(tmp_path / "nowhere", paper_selection(), CLASSES, "drop", "weighted")


def test_the_class_counts_are_checked_like_the_papers(tmp_path):
    folder = kaggle_folder(tmp_path / "gz2")
    settings = schema_defaults("data", "galaxy_zoo2")
    with pytest.raises(CatalogError, match="class counts differ"):
        kind.build_catalog(settings, CLASSES, {"solutions": str(folder / "training_solutions_rev1.csv")})
    settings["expected_class_counts"] = dict.fromkeys(CLASSES, 1)
    assert len(kind.build_catalog(settings, CLASSES, {"solutions": str(folder / "training_solutions_rev1.csv")})) == 5


# Hand-built rows (weighted down the tree) whose class differs between the two readings of Table 1's cuts.
READING_ROWS = {
    # smooth 0.6; completely round 0.4 of all votes = 0.67 of the smooth ones: round only when conditional
    "200001": {"Class1.1": 0.6, "Class1.2": 0.4, "Class7.1": 0.4, "Class7.2": 0.15, "Class7.3": 0.05},
    # features 0.6, face-on 0.5 (0.83 of them), arms 0.4 (0.8 of the face-on): spiral only when conditional
    "200002": {"Class1.1": 0.35, "Class1.2": 0.6, "Class2.1": 0.1, "Class2.2": 0.5, "Class4.1": 0.4,
               "Class4.2": 0.1, "Class7.1": 0.15, "Class7.2": 0.1, "Class7.3": 0.1},
    # round smooth as weighted (7.1 = 0.5); conditional, edge-on too (2.1 / 1.2 = 0.7): dropped as ambiguous
    "200003": {"Class1.1": 0.5, "Class1.2": 0.5, "Class7.1": 0.5, "Class2.1": 0.35, "Class2.2": 0.15},
    # cigar either way; nobody answered question 2 (Class1.2 = 0): its conditional fractions are 0, not 0 / 0
    "200004": {"Class1.1": 1.0, "Class7.3": 0.6, "Class7.2": 0.4},
    # round smooth either way
    "200005": {"Class1.1": 0.9, "Class1.2": 0.1, "Class7.1": 0.8, "Class7.2": 0.1},
}
BY_READING = {"weighted": {"200003": 0, "200004": 2, "200005": 0},
              "conditional": {"200001": 0, "200002": 4, "200004": 2, "200005": 0}}


@pytest.mark.parametrize("fractions", ["weighted", "conditional"])
def test_each_reading_of_the_fractions_gives_the_classes_known_by_hand(tmp_path, fractions, caplog):
    caplog.set_level(logging.INFO)
    folder = kaggle_folder(tmp_path / "gz2", READING_ROWS)
    catalog = catalog_from_kaggle(folder, paper_selection(), CLASSES, "drop", fractions)
    assert dict(zip(catalog["id"], catalog["class_index"])) == BY_READING[fractions]
    assert f"(galaxies=5, kept={len(BY_READING[fractions])}, fractions={fractions}," in caplog.text


def test_conditional_fractions_divide_by_the_answer_that_led_to_the_question():
    from galaxy_pretraining.data.kinds.galaxy_zoo2.galaxy_zoo2 import conditional_fractions, parent_columns

    assert parent_columns(["Class1.1", "Class7.1", "Class2.2", "Class4.1", "Class6.1"]) == \
        ["Class1.1", "Class1.2", "Class2.2"]
    table = pd.DataFrame({"Class1.1": [0.6, 1.0], "Class1.2": [0.4, 0.0], "Class7.1": [0.4, 0.3],
                          "Class2.1": [0.3, 0.0], "Class2.2": [0.1, 0.0], "Class4.1": [0.1000001, 0.0]})
    out = conditional_fractions(table, ["Class1.1", "Class7.1", "Class2.1", "Class4.1"])
    assert np.allclose(out["Class7.1"], [0.4 / 0.6, 0.3])
    assert np.allclose(out["Class2.1"], [0.75, 0.0])  # 0 where nobody reached question 2
    assert out["Class4.1"].tolist() == [1.0, 0.0]  # rounding above 1 held at 1
    assert out["Class1.1"].tolist() == [0.6, 1.0] and table["Class7.1"].tolist() == [0.4, 0.3]  # a copy
    with pytest.raises(ValueError, match="fractions 'raw'"):
        catalog_from_kaggle("anywhere", paper_selection(), CLASSES, "drop", "raw")


@pytest.mark.parametrize(("fractions", "other"), [("weighted", "conditional"), ("conditional", "weighted")])
def test_a_count_mismatch_says_which_reading_gave_the_counts_and_names_the_other(tmp_path, fractions, other):
    folder = kaggle_folder(tmp_path / "gz2", READING_ROWS)
    settings = {**schema_defaults("data", "galaxy_zoo2"), "fractions": fractions}
    with pytest.raises(CatalogError, match=f"(?s)class counts differ.*cuts on {fractions} vote fractions "
                                           rf"\(data.galaxy_zoo2.fractions: {fractions}\).*try "
                                           f"data.galaxy_zoo2.fractions: {other}"):
        kind.build_catalog(settings, CLASSES, {"solutions": str(folder / "training_solutions_rev1.csv")})


def zhu_config(path):
    return {"study": "gz2", "data": {"kind": "galaxy_zoo2", "galaxy_zoo2": {"path": str(path)}},
            "classes": list(CLASSES), "image_size": 64, "splits": {"runs": 1, "test_size": 2},
            "training": {"crop_size": 56},
            "models": {"resnet50-scratch": {"architecture": "resnet50", "weights": "none", "epochs": 1}}}


def test_the_selection_s_classes_must_be_the_configs(tmp_path):
    config = zhu_config(tmp_path)
    study.resolve(copy.deepcopy(config))
    config["classes"] = CLASSES[::-1]
    with pytest.raises(study.ConfigError, match="data.galaxy_zoo2.selection: its classes"):
        study.resolve(config)
    config = zhu_config(tmp_path)
    config["data"]["galaxy_zoo2"]["expected_class_counts"] = {"spiral": 3}
    with pytest.raises(study.ConfigError, match="data.galaxy_zoo2.expected_class_counts: give the count of each"):
        study.resolve(config)


def test_missing_kaggle_files_stop_the_workflow_saying_where_to_get_them(root, tmp_path, snakemake_exe):
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(zhu_config(tmp_path / "kaggle")))
    result = subprocess.run([snakemake_exe, "-s", str(root / "Snakefile"), "-d", str(tmp_path), "--configfile",
                             str(tmp_path / "config.yaml"), "--cores", "1", "results/gz2/catalog.parquet"],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert "galaxy_zoo2_files" in output and "kaggle.com/c/galaxy-zoo-the-galaxy-challenge" in output


# --- the mock in the Kaggle layout ----------------------------------------------------------------


def test_the_mock_has_kaggles_columns_votes_weighted_down_the_tree_and_the_papers_class_shares(tmp_path):
    from galaxy_pretraining.data.kinds.galaxy_zoo2.galaxy_zoo2 import PARENT_ANSWER, write_mock_kaggle

    write_mock_kaggle(tmp_path / "mock", 200, seed=4, image_size=48)
    table = pd.read_csv(tmp_path / "mock/training_solutions_rev1.csv", dtype={"GalaxyID": str})
    assert list(table.columns) == ["GalaxyID", *COLUMNS]
    assert np.allclose(table[["Class1.1", "Class1.2", "Class1.3"]].sum(axis=1), 1, atol=1e-5)
    assert np.allclose(table[["Class6.1", "Class6.2"]].sum(axis=1), 1, atol=1e-5)
    for question, parent in PARENT_ANSWER.items():
        answers = [c for c in COLUMNS if c.startswith(f"Class{question}.")]
        assert np.allclose(table[answers].sum(axis=1), table[parent], atol=1e-5), question
    catalog = catalog_from_kaggle(tmp_path / "mock", paper_selection(), CLASSES, "error", "weighted")  # no overlaps
    assert len(catalog) == 160  # 20 % meet no class's cuts
    shares = np.array([8434, 8069, 578, 3903, 7806]) / 28790  # the paper's clean sample
    assert np.abs(np.bincount(catalog["class_index"]) - 160 * shares).max() < 1.01
    with Image.open(catalog["image_path"].iloc[0]) as image:
        assert image.size == (48, 48) and image.mode == "RGB"
    write_mock_kaggle(tmp_path / "again", 200, seed=4, image_size=48)
    assert (tmp_path / "again/training_solutions_rev1.csv").read_bytes() == \
        (tmp_path / "mock/training_solutions_rev1.csv").read_bytes()

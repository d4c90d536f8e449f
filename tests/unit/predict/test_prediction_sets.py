"""Prediction sets' config and images: every bad input is one message naming the set, key, galaxy or file."""

import copy
import logging

import numpy as np
import pandas as pd
import pytest
import yaml
from PIL import Image

from galaxy_pretraining import study
from galaxy_pretraining.config import ConfigError
from galaxy_pretraining.data.catalog import CatalogError
from galaxy_pretraining.errors import BadData
from galaxy_pretraining.predict.catalog import check_formats, set_catalog


@pytest.fixture
def demo(root):
    return yaml.safe_load((root / "config/demo.yaml").read_text())


def with_set(config, **spec):
    config = copy.deepcopy(config)
    config["predict"] = {"survey": {"images": {"table": "survey.csv"}, "model": "efficientnet_lite0-imagenet", **spec}}
    return config


def test_a_set_uses_all_runs_by_default_and_keeps_their_best_weights(demo):
    plan = study.Study(study.resolve(with_set(demo)))
    assert plan.prediction_runs("survey") == [0, 1]
    kept = [job for job in plan.jobs if plan.keeps_best_weights(job)]
    assert {(job.model, job.run) for job in kept} == {("efficientnet_lite0-imagenet", 0),
                                                      ("efficientnet_lite0-imagenet", 1)}
    assert plan.prediction_inputs("survey")["best_models"] == [
        f"results/demo/runs/efficientnet_lite0-imagenet/run00{run}/best.pt" for run in (0, 1)]
    assert "results/demo/predictions/survey.parquet" in plan.targets
    assert plan.prediction_resources("survey")["gpu"] == 1
    assert "train_resources" not in plan.prediction_params("survey")  # the machine is read at job time


def test_a_labelled_set_with_embeddings_makes_its_calibration_and_embeddings(demo):
    labelled = with_set(demo, embeddings=True)
    labelled["predict"]["survey"]["images"].update(label_column="label")
    plan = study.Study(study.resolve(labelled))
    assert {"results/demo/predictions/survey.calibration.csv", "results/demo/predictions/survey.reliability.png",
            "results/demo/predictions/survey.embeddings.npz"} <= set(plan.targets)
    assert set(plan.prediction_outputs("survey")) == {"predictions", "embeddings"}


def test_a_model_that_is_not_an_arm_is_refused_by_name(demo):
    with pytest.raises(ConfigError, match=r"predict\.survey\.model: 'resnet' is not an arm of the study"):
        study.resolve(with_set(demo, model="resnet"))


def test_a_run_that_does_not_exist_is_refused_by_name(demo):
    with pytest.raises(ConfigError, match=r"predict\.survey\.runs: run\(s\) \[5\] do not exist"):
        study.resolve(with_set(demo, runs=[0, 5]))


def test_more_than_eight_views_is_refused_by_the_schema(demo):
    with pytest.raises(ConfigError, match="views"):
        study.resolve(with_set(demo, views=9))


def write_images(folder, ids, size=(48, 48), mode="RGB"):
    folder.mkdir(exist_ok=True)
    rng = np.random.default_rng(0)
    for galaxy in ids:
        pixels = rng.integers(0, 255, (*size[::-1], 3), dtype=np.uint8)
        Image.fromarray(pixels).convert(mode).save(folder / f"{galaxy}.png")


def images_block(table, **settings):
    return {"table": str(table), "id_column": "id", "label_column": None, "class_map": None, "image_column": None,
            "image_dir": None, "image_pattern": "{id}.png", "encoding": "utf-8", **settings}


def test_a_missing_image_is_named_with_its_galaxy(tmp_path):
    write_images(tmp_path, ["a", "b"])
    pd.DataFrame({"id": ["a", "b", "c"]}).to_csv(tmp_path / "survey.csv", index=False)
    with pytest.raises(CatalogError, match=r"predict\.survey\.images: 1 image file\(s\) missing, first: galaxy c .*c\.png"):
        set_catalog("survey", images_block(tmp_path / "survey.csv"), ["e", "s"])


def test_a_label_column_is_ignored_when_unlabelled_and_scores_when_named(tmp_path, caplog):
    write_images(tmp_path, ["a", "b"])
    pd.DataFrame({"id": ["a", "b"], "label": ["s", "e"]}).to_csv(tmp_path / "survey.csv", index=False)
    with caplog.at_level(logging.WARNING):
        unlabelled = set_catalog("survey", images_block(tmp_path / "survey.csv"), ["e", "s"])
    assert (unlabelled["class_index"] == -1).all()
    assert "['label']" in caplog.text and "ignored" in caplog.text and "predict.survey.images.label_column" in caplog.text
    labelled = set_catalog("survey", images_block(tmp_path / "survey.csv", label_column="label",
                                                  class_map={"e": ["e"], "s": ["s"]}), ["e", "s"])
    assert labelled["class_index"].tolist() == [1, 0]


def test_images_of_another_size_or_mode_than_the_studys_are_refused_by_name(tmp_path):
    write_images(tmp_path / "study", ["s1", "s2"], size=(48, 48))
    write_images(tmp_path / "other", ["a"], size=(48, 48))
    write_images(tmp_path / "other", ["big"], size=(96, 96))
    write_images(tmp_path / "other", ["grey"], size=(48, 48), mode="L")
    study_paths = [str(tmp_path / "study" / f"s{i}.png") for i in (1, 2)]
    same = pd.DataFrame({"id": ["a"], "image_path": [str(tmp_path / "other/a.png")]})
    check_formats("survey", same, study_paths, "error", 48)  # the study's format: nothing to say
    for galaxy, found in (("big", "96x96 RGB"), ("grey", "48x48 L")):
        other = pd.DataFrame({"id": [galaxy], "image_path": [str(tmp_path / f"other/{galaxy}.png")]})
        with pytest.raises(BadData, match=rf"predict\.survey\.images: .*first galaxy {galaxy} .*{found}; the study's: 48x48 RGB"):
            check_formats("survey", other, study_paths, "error", 48)
        check_formats("survey", other, study_paths, "warn", 48)


def test_a_refused_format_says_how_many_formats_the_study_has_and_what_warn_does(tmp_path, caplog):
    sizes = [(80 + i, 80 + i) for i in range(6)]
    for i, size in enumerate(sizes):
        write_images(tmp_path / "study", [f"s{i}"], size=size)
    write_images(tmp_path / "other", ["big"], size=(200, 150))
    study_paths = [str(tmp_path / "study" / f"s{i}.png") for i in range(len(sizes))]
    other = pd.DataFrame({"id": ["big"], "image_path": [str(tmp_path / "other/big.png")]})
    with pytest.raises(BadData) as error:
        check_formats("survey", other, study_paths, "error", 64)
    assert "the study's 6 formats, 80x80 to 85x85 RGB" in str(error.value)
    assert ("set predict.survey.images.other_images: warn to predict them as the study's own images are prepared: "
            "each converted to RGB, made square when it is not (non_square_images: padded with black) and resized "
            "to 64x64 (image_size)") in str(error.value)
    with pytest.raises(BadData, match=r"its central 60x60 of its own pixels taken \(image_crop"):
        check_formats("survey", other, study_paths, "error", 64, crop=60)
    with caplog.at_level(logging.WARNING):
        check_formats("survey", other, study_paths, "warn", 64, square="crop")
    assert "other_images: warn: each converted to RGB, made square when it is not (non_square_images: its central " \
           "square) and resized to 64x64" in caplog.text


def test_a_table_in_another_encoding_names_the_sets_encoding_key(tmp_path):
    write_images(tmp_path, ["Médée"])
    (tmp_path / "survey.csv").write_bytes("id\nMédée\n".encode("cp1252"))
    with pytest.raises(CatalogError, match=r"line 2 is not utf-8 .*set predict\.survey\.images\.encoding to") as error:
        set_catalog("survey", images_block(tmp_path / "survey.csv"), ["e", "s"])
    assert "data.folder" not in str(error.value)
    assert set_catalog("survey", images_block(tmp_path / "survey.csv", encoding="cp1252"), ["e", "s"])["id"].tolist() == ["Médée"]


def test_a_missing_image_of_an_id_with_spaces_around_it_says_so(tmp_path):
    write_images(tmp_path, ["a", "b"])
    pd.DataFrame({"id": ["a", " b"]}).to_csv(tmp_path / "survey.csv", index=False)
    with pytest.raises(CatalogError, match=r"first: galaxy  b .*id ' b' has a leading space"):
        set_catalog("survey", images_block(tmp_path / "survey.csv"), ["e", "s"])


def test_a_labelled_sets_reliability_diagram_draws_its_ensembles_bins_and_ece(tmp_path):
    from galaxy_pretraining.analysis.calibration import prediction_set_calibration
    from galaxy_pretraining.figures.reliability_diagrams import draw_set, write_set_diagram

    rng = np.random.default_rng(1)
    p_s = rng.uniform(0, 1, 200)
    predictions = pd.DataFrame({"probability_e": 1 - p_s, "probability_s": p_s,
                                "true": (rng.uniform(0, 1, 200) < p_s ** 2).astype(int)})
    calibration = prediction_set_calibration(predictions, ["e", "s"])
    figure = draw_set(calibration, "survey", "resnet18-imagenet", [0, 1, 2], 8)
    ax = figure.axes[0]
    bins = calibration[(calibration["bin"] != "all") & (calibration["count"] > 0)]
    drawn = ax.lines[-1]
    np.testing.assert_allclose(drawn.get_xdata(), bins["confidence"])
    np.testing.assert_allclose(drawn.get_ydata(), bins["accuracy"])
    ece = calibration.loc[calibration["bin"] == "all", "ece"].item()
    assert f"ECE {ece:.3f}" in ax.get_title() and "3 run(s) x 8 view(s)" in ax.get_title() and ece > 0.05
    write_set_diagram(calibration, tmp_path / "survey.reliability.png", "survey", "resnet18-imagenet", [0], 1)
    assert Image.open(tmp_path / "survey.reliability.png").format == "PNG"

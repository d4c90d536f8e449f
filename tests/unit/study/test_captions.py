"""Captions: the paper's numbers only in its comparison, and what the config left out of a table or figure."""

import copy

import pytest
import yaml

from galaxy_pretraining.figures import FIGURES
from galaxy_pretraining.papers import fu, schneider2023
from galaxy_pretraining.study import Study, resolve
from galaxy_pretraining.tables import TABLES


def test_fu_numbers_only_in_fus_study_on_the_real_file(root):
    config = resolve(yaml.safe_load((root / "config/fu-galaxy10.yaml").read_text()))
    assert fu.arms(config) == {f"densenet121-frozen{round(s * 100):03d}": s for s in (0, 0.2, 0.4, 0.6, 0.8, 1.0)}
    assert "Fu's Table 1" in Study(config).table_caption("frozen_share_results")
    for change in (lambda c: c["data"]["galaxy10_decals"].update(mock={"n_galaxies": 100}),
                   lambda c: c["training"]["optimizer"].update(lr=0.001),
                   lambda c: c["training"].update(oversample=False)):
        other = copy.deepcopy(config)
        change(other)
        assert fu.arms(other) == {}
        assert "paper_*" not in Study(other).table_caption("frozen_share_results")
    other = copy.deepcopy(config)
    other["models"]["densenet121-frozen020"]["architecture"] = "resnet50"
    assert "densenet121-frozen020" not in fu.arms(other)


def test_the_paper_study_is_the_paper_comparison_and_the_demo_is_not(paper, demo):
    assert schneider2023.arms(paper) == {"alexnet-imagenet": "pretrained", "alexnet-scratch": "scratch"}
    assert schneider2023.arms(demo) == {}
    assert "training.normalization" in schneider2023.protocol_differences(demo)


@pytest.mark.parametrize("change", [
    lambda c: c["training"]["optimizer"].update(lr=0.01),
    lambda c: c["training"].update(evaluation="center"),
    lambda c: c.update(image_size=128),
    lambda c: c["data"].update(kind="mock", mock={"n_galaxies": 100, "seed": 0, "image_size_min": 80,
                                                  "image_size_max": 128}),
])
def test_another_protocol_gets_no_paper_numbers(paper, change):
    changed = copy.deepcopy(paper)
    change(changed)
    assert schneider2023.arms(changed) == {}
    assert "1.58e-30" not in Study(changed).table_caption("sign_tests")
    assert "paper_arms" in TABLES["sign_tests"].needs and Study(changed).table_arguments("sign_tests") == {
        "paper_arms": {}}


def test_renaming_the_models_keeps_the_paper_numbers(paper):
    renamed = copy.deepcopy(paper)
    renamed["models"] = {"mine": paper["models"]["alexnet-imagenet"], "theirs": paper["models"]["alexnet-scratch"]}
    assert schneider2023.arms(renamed) == {"mine": "pretrained", "theirs": "scratch"}


def test_captions_carry_the_paper_numbers_only_in_its_comparison(paper, demo):
    assert "1.58e-30" in Study(paper).table_caption("sign_tests")
    assert "84.2" in Study(paper).figure_caption("peak_histograms")
    assert "1.58e-30" not in Study(demo).table_caption("sign_tests")
    assert "84.2" not in Study(demo).figure_caption("peak_histograms")
    assert Study(demo).figure_caption("peak_histograms") == FIGURES["peak_histograms"].description


def test_captions_say_which_budgets_and_pairs_the_config_leaves_out(paper, demo):
    caption = Study(paper).table_caption("table1_budgets")
    assert "Budgets longer than 200 epochs are left out of the 200-epoch runs of alexnet-imagenet: 400, 1000." in caption
    assert "long runs" not in caption  # they train 1,000 epochs, the longest budget
    assert "Budgets compared: 50, 20 (by default" in Study(paper).figure_caption("budget_gains")
    short = copy.deepcopy(demo)
    short["figures"] = {}
    short["models"]["efficientnet_lite0-scratch"]["epochs"] = 4
    short = Study(resolve(short))
    assert "Budgets compared: 2 (by default the two longest of analysis.budgets shorter than every model's epochs)." \
        in short.figure_caption("budget_gains")
    note = ("No equal-budget gain for efficientnet_lite0-imagenet - efficientnet_lite0-scratch: efficientnet_lite0-scratch "
            "trains 4 epochs, fewer than efficientnet_lite0-imagenet's 8.")
    assert note in short.figure_caption("equal_budget_gain") and note in short.table_caption("sign_tests")
    assert "left out" not in Study(demo).table_caption("table1_budgets")  # the demo's budgets all fit its 8 epochs


def test_a_name_both_a_table_and_a_figure_gets_each_its_own_caption(demo):
    budgets = copy.deepcopy(demo)
    budgets["splits"]["train_fractions"] = [0.1, 1.0]
    study = Study(resolve(budgets))
    assert study.table_caption("label_budget").startswith(TABLES["label_budget"].description)
    assert study.figure_caption("label_budget").startswith(FIGURES["label_budget"].description)

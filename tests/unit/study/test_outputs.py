"""The tables and figures a study makes, with their inputs and arguments, from the registries."""

import copy
import inspect

import pytest

from galaxy_pretraining.config import load_schema
from galaxy_pretraining.data.kinds import KINDS
from galaxy_pretraining.figures import FIGURES, FigureDeclarationError, read_spec
from galaxy_pretraining.study import Study
from galaxy_pretraining.tables import CONTEXT, FILES, TABLES


def test_the_schema_knows_exactly_the_registered_data_kinds():
    assert set(load_schema()["properties"]["data"]["properties"]["kind"]["enum"]) == set(KINDS)
    for name, module in KINDS.items():
        for attribute in ("FIXED_CLASSES", "check", "catalog_inputs", "summary_inputs", "build_catalog"):
            assert hasattr(module, attribute), f"data kind {name} lacks {attribute}"


def test_catalog_inputs_come_from_the_data_kind(paper, demo):
    assert Study(paper).catalog_inputs == {"raw": "resources/nair_abraham/table2.parquet",
                                           "manifest": "results/nair-abraham-alexnet/download_manifest.parquet"}
    assert Study(demo).catalog_inputs == {"raw": "results/demo/mock/catalog_raw.parquet",
                                          "images": "results/demo/mock/images"}
    assert Study(paper).table_inputs("sample_summary")["manifest"].endswith("download_manifest.parquet")
    assert "manifest" not in Study(demo).table_inputs("sample_summary")


def test_the_table_registry_reads_inputs_and_context_off_each_functions_signature(demo):
    """Every argument of a table's function is an input (a table, or a file of the store) or a context value."""
    made = set(TABLES) | {"curves", "predictions", "label_budget_curves"} | set(FILES)
    for name, step in TABLES.items():
        arguments = [p.name for p in inspect.signature(step.make).parameters.values() if p.default is p.empty]
        assert set(step.inputs) | set(step.needs) == set(arguments), name
        assert set(step.needs) <= set(CONTEXT) and set(step.inputs) <= made, name
    assert (TABLES["table1_budgets"].inputs, TABLES["table1_budgets"].needs) == (("peak_accuracy",), ("paper_arms",))
    assert (TABLES["sample_summary"].inputs, TABLES["sample_summary"].needs) == (("catalog", "image_checks"),
                                                                                 ("class_names",))
    assert Study(demo).table_inputs("per_class") == {
        "best_epoch_confusions": "results/demo/tables/best_epoch_confusions.parquet"}
    assert Study(demo).table_inputs("sample_summary") == {"catalog": "results/demo/catalog.parquet",
                                                          "image_checks": "results/demo/image_checks.parquet"}


def test_every_figure_reads_only_registered_tables():
    tables = set(TABLES) | {"curves", "predictions"}
    for name, spec in FIGURES.items():
        assert set(spec.tables.values()) <= tables, name
        assert spec.description, f"{name} has no docstring to caption it"


def test_a_figure_module_with_an_argument_that_is_no_option_is_refused(tmp_path):
    module = tmp_path / "broken.py"
    module.write_text('"""A figure."""\nTABLES = {"peaks": "peak_accuracy"}\n\n\ndef draw(peaks, models, colour):\n'
                      '    pass\n')
    with pytest.raises(FigureDeclarationError, match="draw\\(\\) argument 'colour' is neither"):
        read_spec(module)
    module.write_text('TABLES = {"gains": "gains"}\n\n\ndef draw(peaks, models):\n    pass\n')
    with pytest.raises(FigureDeclarationError, match="TABLES names \\['gains'\\]"):
        read_spec(module)


def test_tables_and_figures_of_paired_comparisons_and_long_runs_only_where_the_study_has_them(paper, demo):
    assert "table3_long_runs" in Study(paper).table_names and "table3_long_runs" not in Study(demo).table_names
    alone = copy.deepcopy(demo)
    del alone["models"]["efficientnet_lite0-imagenet"]
    assert "gains" not in Study(alone).table_names and "sign_tests" not in Study(alone).table_names
    assert "gain_histograms" not in Study(alone).figure_names and "peak_histograms" in Study(alone).figure_names
    assert set(Study(demo).figure_names) == set(FIGURES) - {"frozen_share_accuracy", "label_budget"}
    budgets = copy.deepcopy(demo)
    budgets["splits"]["train_fractions"] = [0.1, 1.0]
    assert {"label_budget", "labels_saved", "label_budget_sign_tests"} <= set(Study(budgets).table_names)
    assert "label_budget" in Study(budgets).figure_names
    del budgets["models"]["efficientnet_lite0-imagenet"]
    assert "label_budget" in Study(budgets).table_names and "labels_saved" not in Study(budgets).table_names
    assert "frozen_share_results" not in Study(paper).table_names
    frozen = copy.deepcopy(demo)
    frozen["models"]["efficientnet_lite0-imagenet"]["frozen_share"] = 0.5
    assert "frozen_share_results" in Study(frozen).table_names and "frozen_share_accuracy" in Study(frozen).figure_names


def test_a_figure_reads_its_tables_by_draw_argument_and_gets_its_context_and_options(demo):
    study = Study(demo)
    inputs = study.figure_inputs("peak_histograms")
    assert inputs["module"] == FIGURES["peak_histograms"].module_file
    assert {k: v for k, v in inputs.items() if k != "module"} == {
        argument: f"results/demo/tables/{table}.parquet" for argument, table in FIGURES["peak_histograms"].tables.items()}
    arguments = study.figure_arguments("peak_histograms")
    assert set(arguments) == set(FIGURES["peak_histograms"].context) | set(demo["figures"].get("peak_histograms", {}))

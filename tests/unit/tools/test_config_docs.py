"""config/README.md describes every config key, and is what the schema's descriptions generate."""


from galaxy_pretraining_tools.config_docs import config_docs, load_schema, main, rows, undocumented

from helpers.paths import ROOT

SCHEMA = ROOT / "workflow/schemas/config.schema.yaml"


def test_every_key_of_the_schema_has_a_description():
    assert undocumented(load_schema(SCHEMA)) == []


def test_config_readme_is_up_to_date_with_the_schema():
    expected = config_docs(load_schema(SCHEMA))
    assert (ROOT / "config/README.md").read_text() == expected, (
        "config/README.md is out of date: python -m galaxy_pretraining_tools.config_docs "
        "workflow/schemas/config.schema.yaml config/README.md")


def test_the_page_lists_every_key_with_its_type_default_and_meaning():
    page = (ROOT / "config/README.md").read_text()
    keys = [key for key, _, _ in rows(load_schema(SCHEMA))]
    assert len(keys) > 80
    for key in ("training.checkpoint_every", "data.nair_abraham.columns.ttype", "models.<name>.weights",
                "train_resources.runs_per_job"):
        assert key in keys
    assert ("| `training.optimizer.lr` | number | *required* | learning rate; too high a rate" in page)
    assert '| `training.device` | `"auto"` \\| `"cuda"` \\| `"mps"` \\| `"cpu"` | `"auto"` |' in page
    assert '| `training.rotation` | number or `"quarter_turns"` | `180` |' in page  # a const names its value


def test_a_key_without_a_description_is_named_and_nothing_is_written(tmp_path, capsys):
    schema = tmp_path / "schema.yaml"
    schema.write_text("description: x\nproperties:\n  study: {type: string, description: name}\n"
                      "  training:\n    type: object\n    description: protocol\n    properties:\n"
                      "      epochs: {type: integer}\n")
    assert main([str(schema), str(tmp_path / "README.md")]) == 1
    assert "keys without a description: training.epochs" in capsys.readouterr().err
    assert not (tmp_path / "README.md").exists()

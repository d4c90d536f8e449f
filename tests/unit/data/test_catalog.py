import logging
import re
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from astropy.table import Table

from galaxy_pretraining.data.catalog import CatalogError, check_class_counts
from galaxy_pretraining.data.classes import CLASS_NAMES, PAPER_CLASS_COUNTS, classes_from_ttypes
from galaxy_pretraining.data.kinds import build_catalog, nair_abraham
from galaxy_pretraining.data.kinds.nair_abraham.vizier import (
    NairAbrahamTableError,
    designation_position,
    fetch_nair_abraham,
    raw_to_ttype_table,
)

from helpers.configs import data_block
from helpers.paths import DATA
from helpers.paths import VIZIER_FIXTURE as FIXTURE

COLUMNS = data_block("nair_abraham")["nair_abraham"]["columns"]
EMPTY_TTYPE = data_block("nair_abraham")["nair_abraham"]["empty_ttype"]  # the schema's default: 99
REAL_EMPTY_TTYPE = ["J084900.23+461503.37", "J132109.07+590605.59"]  # real rows: TT, Tt and RC3 empty on VizieR


def fixture_raw() -> pd.DataFrame:
    return Table.read(FIXTURE, format="votable").to_pandas()


def test_fetch_from_vizier_saves_the_raw_table(fake_vizier, tmp_path):
    server, seen = fake_vizier
    raw = fetch_nair_abraham(tmp_path / "table2.parquet", server, "J/ApJS/186/427/table2")
    assert seen and seen[0][0] == "/viz-bin/votable" and "J/ApJS/186/427/table2" in seen[0][1]
    assert "_RAJ2000" in seen[0][1] and "_DEJ2000" in seen[0][1]  # the computed positions are asked for
    assert len(raw) == 14
    stored = pd.read_parquet(tmp_path / "table2.parquet")
    pd.testing.assert_series_equal(stored["TT"], fixture_raw()["TT"])
    assert stored["TT"].isna().sum() == 3 and stored["TT"].dtype == float  # VizieR's float TT, empty for 99


def test_the_default_column_map_reads_the_real_table():
    """The schema's defaults against a table with VizieR's real labels (J/ApJS/186/427/table2): the paper's config works."""
    table = raw_to_ttype_table(fixture_raw(), COLUMNS, EMPTY_TTYPE)
    assert list(table.columns) == ["id", "ra", "dec", "redshift", "size_arcsec", "ttype"]
    assert table["id"].iloc[0] == "J000011.47+155502.20"
    row = table.set_index("id").loc["J000103.20-003217.10"]
    assert row["ttype"] == 99  # TT empty (VizieR's 99), not Tt
    assert row["dec"] == pytest.approx(-(0 + 32 / 60 + 17.10 / 3600), abs=1 / 3600)
    assert table.set_index("id").loc["J000035.97-010917.60", "redshift"] != table.set_index("id").loc[
        "J000035.97-010917.60", "redshift"]  # an empty zs stays empty (NaN)
    with pytest.raises(NairAbrahamTableError, match="data.nair_abraham.columns"):
        raw_to_ttype_table(fixture_raw().drop(columns=["Rp"]), COLUMNS, EMPTY_TTYPE)


def test_designations_give_positions_in_degrees():
    assert designation_position("J030105.58+004521.55") == pytest.approx((45.27325, 0.7559861), abs=1e-7)
    assert designation_position("J000020.84-001009.52") == pytest.approx((0.0868333, -0.1693111), abs=1e-7)
    with pytest.raises(NairAbrahamTableError, match="'030105.58'"):
        designation_position("030105.58")


def test_without_computed_positions_the_designations_give_them():
    raw = fixture_raw()
    table = raw_to_ttype_table(raw.drop(columns=["_RAJ2000", "_DEJ2000"]), COLUMNS, EMPTY_TTYPE)
    assert np.allclose(table["ra"], raw["_RAJ2000"], atol=0.02 / 3600)
    assert np.allclose(table["dec"], raw["_DEJ2000"], atol=0.02 / 3600)


def test_a_position_that_disagrees_with_its_designation_is_an_error_naming_the_galaxy():
    raw = fixture_raw()
    raw.loc[4, "_DEJ2000"] += 1.5 / 3600
    with pytest.raises(NairAbrahamTableError, match=r"galaxy J000035.97-010917.60: .* differ by 1.50 arcsec"):
        raw_to_ttype_table(raw, COLUMNS, EMPTY_TTYPE)
    raw.loc[4, "_DEJ2000"] -= 1.0 / 3600  # 0.5 arcsec off: within the tolerance
    raw_to_ttype_table(raw, COLUMNS, EMPTY_TTYPE)


@pytest.mark.parametrize("column", ["Rp", "SDSS"])
def test_an_empty_cell_the_workflow_needs_is_an_error_naming_the_galaxy(column):
    raw = fixture_raw()
    raw[column] = raw[column].astype(object)
    raw.loc[2, column] = None
    name = "row 2" if column == "SDSS" else "J000022.42+003400.13"
    with pytest.raises(NairAbrahamTableError, match=rf"1 galaxy has an empty {column} .*{re.escape(name)}"):
        raw_to_ttype_table(raw, COLUMNS, EMPTY_TTYPE)


def test_the_real_rows_with_an_empty_tt_are_irregular_misc_and_their_positions_their_designations(caplog):
    """VizieR serves the authors' TType 99 as an empty TT; the two real galaxies of the fixture have one."""
    caplog.set_level(logging.INFO)
    table = raw_to_ttype_table(fixture_raw(), COLUMNS, EMPTY_TTYPE).set_index("id")
    assert EMPTY_TTYPE == 99
    for name in REAL_EMPTY_TTYPE:
        assert table.loc[name, "ttype"] == 99
        assert (table.loc[name, "ra"], table.loc[name, "dec"]) == pytest.approx(designation_position(name),
                                                                                abs=0.02 / 3600)
    assert "nair_abraham: 3 galaxies have an empty TT, read as T-type 99" in caplog.text
    labels = classes_from_ttypes(table["ttype"], ids=list(table.index))
    assert [CLASS_NAMES[c] for c in labels[-2:]] == ["irregular+misc"] * 2
    assert table["ttype"].dtype == np.int64


def test_an_empty_tt_is_an_error_naming_the_galaxies_when_empty_ttype_is_null():
    pattern = rf"3 galaxies have an empty TT .*empty_ttype is null.*{re.escape(REAL_EMPTY_TTYPE[0])}"
    with pytest.raises(NairAbrahamTableError, match=pattern):
        raw_to_ttype_table(fixture_raw(), COLUMNS, None)


def test_a_blank_tt_as_a_text_export_writes_it_is_empty_and_a_bad_empty_ttype_names_the_key():
    raw = fixture_raw()
    raw["TT"] = ["" if pd.isna(t) else f"{t:.1f}" for t in raw["TT"]]  # "-2.0", and "" for the empty cells
    raw.loc[0, "TT"] = "  "
    table = raw_to_ttype_table(raw, COLUMNS, EMPTY_TTYPE).set_index("id")
    assert table.loc["J000011.47+155502.20", "ttype"] == 99 and table.loc["J000022.42+003400.13", "ttype"] == -2
    assert (table.loc[REAL_EMPTY_TTYPE, "ttype"] == 99).all()
    with pytest.raises(NairAbrahamTableError, match=r"^data.nair_abraham.empty_ttype: 50 is outside"):
        raw_to_ttype_table(fixture_raw(), COLUMNS, 50)


def test_tt_as_vizier_serves_it_float_or_masked_integer_reads_the_same():
    as_float = raw_to_ttype_table(fixture_raw(), COLUMNS, EMPTY_TTYPE)
    raw = fixture_raw()
    raw["TT"] = raw["TT"].astype("Int16")  # astropy's masked integer column, as pandas gets it
    pd.testing.assert_frame_equal(raw_to_ttype_table(raw, COLUMNS, EMPTY_TTYPE), as_float)
    raw["TT"] = [None if pd.isna(t) else str(int(t)) for t in raw["TT"]]  # text, as a CSV export gives it
    pd.testing.assert_frame_equal(raw_to_ttype_table(raw, COLUMNS, EMPTY_TTYPE), as_float)


@pytest.mark.parametrize("value, message", [(2.5, "2.5 is not a whole number"), (11.0, "11 is outside the paper's"),
                                            (-4.0, "-4 is outside the paper's"), ("S0", "'S0' is not a number")])
def test_a_tt_outside_the_papers_scheme_is_an_error_naming_the_galaxy(value, message):
    raw = fixture_raw()
    raw["TT"] = raw["TT"].astype(object)
    raw.loc[5, "TT"] = value
    with pytest.raises(NairAbrahamTableError, match=rf"galaxy J000041.54\+000300.90: TT .*{re.escape(message)}"):
        raw_to_ttype_table(raw, COLUMNS, EMPTY_TTYPE)


def nair_abraham_inputs(tmp_path, manifest_status):
    """The raw table and a manifest in tmp_path, the cutouts where the kind keeps them (run from tmp_path)."""
    raw = fixture_raw()
    raw.to_parquet(tmp_path / "table2.parquet")
    images = tmp_path / nair_abraham.CUTOUT_DIR
    images.mkdir(parents=True)
    for name, status in zip(raw["SDSS"], manifest_status):
        if status == "ok":
            (images / f"{name}.jpg").write_bytes(b"\xff\xd8 jpeg \xff\xd9")
    pd.DataFrame({"id": raw["SDSS"], "status": manifest_status}).to_parquet(tmp_path / "manifest.parquet")
    return {"raw": str(tmp_path / "table2.parquet"), "manifest": str(tmp_path / "manifest.parquet")}, images


def test_nair_abraham_catalog_with_the_paper_classes_and_missing_cutouts_dropped(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    status = ["ok"] * 11 + ["failed"] + ["ok"] * 2
    inputs, images = nair_abraham_inputs(tmp_path, status)
    expected = {"elliptical": 2, "lenticular": 4, "spiral": 4, "irregular+misc": 4}  # 10, and three empty TT
    catalog = build_catalog(data_block("nair_abraham", expected_class_counts=expected), CLASS_NAMES, inputs)
    assert len(catalog) == 13 and "J000125.75+002358.90" not in set(catalog["id"])
    assert set(REAL_EMPTY_TTYPE) <= set(catalog.loc[catalog["class_name"] == "irregular+misc", "id"])
    assert dict(zip(catalog["raw_label"], catalog["class_name"])) == {
        "-5": "elliptical", "-3": "lenticular", "-2": "lenticular", "0": "lenticular", "1": "spiral",
        "4": "spiral", "9": "spiral", "7": "spiral", "10": "irregular+misc", "99": "irregular+misc"}


def test_a_truncated_catalog_fails_the_count_check_loudly(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    inputs, images = nair_abraham_inputs(tmp_path, ["ok"] * 14)
    with pytest.raises(CatalogError) as error:
        build_catalog(data_block("nair_abraham", expected_class_counts=PAPER_CLASS_COUNTS), CLASS_NAMES, inputs)
    message = str(error.value)
    assert "expected" in message and "found" in message and "7708" in message and "total" in message


def test_check_class_counts_passes_on_equal_counts():
    catalog = pd.DataFrame({"class_name": ["spiral", "spiral", "elliptical"]})
    check_class_counts(catalog, {"elliptical": 1, "spiral": 2})
    with pytest.raises(CatalogError):
        check_class_counts(catalog, {"elliptical": 2, "spiral": 1})


def test_folder_sample_on_real_sdss_images(gz1_sdss, tmp_path):
    data = data_block("folder", table=str(gz1_sdss / "labels.csv"), id_column="OBJID", label_column="CLASS",
                      image_dir=str(gz1_sdss / "images"), image_pattern="{id}.jpeg",
                      class_map={"elliptical": [0], "spiral": [1, 2, 3], "irregular+misc": [4, 5]})
    names = ["elliptical", "spiral", "irregular+misc"]
    catalog = build_catalog(data, names, {"raw": data["folder"]["table"]})
    assert catalog["class_name"].value_counts().to_dict() == {"elliptical": 4645, "spiral": 1848, "irregular+misc": 171}
    assert Path(catalog["image_path"].iloc[0]).exists()


def test_folder_sample_with_an_unmapped_label_names_the_row(tmp_path):
    (tmp_path / "a.jpg").write_bytes(b"x")
    pd.DataFrame({"id": ["a"], "label": ["weird"]}).to_csv(tmp_path / "labels.csv", index=False)
    data = data_block("folder", table=str(tmp_path / "labels.csv"), image_dir=str(tmp_path),
                      class_map={"spiral": ["s"]})
    with pytest.raises(Exception, match="galaxy a: label 'weird'"):
        build_catalog(data, ["spiral"], {"raw": data["folder"]["table"]})


# --- the folder kind reads the table as the user wrote it (cases leading-zero-ids, blank-label, image-column-dir) ---

CASES = DATA / "cases"
TWO_CLASSES = ["elliptical", "spiral"]


def case_config(name: str, file: str = "config.yaml") -> dict:
    """A case's config as the user ran it, its <cases> placeholder pointing at the copies in tests/data/cases."""
    import yaml

    from galaxy_pretraining.config import resolve_config

    text = (CASES / name / file).read_text().replace("<cases>", str(CASES))
    return resolve_config(yaml.safe_load(text))


def folder_catalog(config: dict) -> pd.DataFrame:
    return build_catalog(config["data"], config["classes"], {"raw": config["data"]["folder"]["table"]})


def test_case_leading_zero_ids_stay_as_written(tmp_path):
    """Case leading-zero-ids: 000001 ... were read as 1, 2, ... and every image was 'missing' as 1.jpg."""
    catalog = folder_catalog(case_config("leading-zero-ids"))
    assert catalog["id"].tolist() == [f"{i:06d}" for i in range(1, 41)]
    assert catalog["image_path"].iloc[0] == str(CASES / "leading-zero-ids/images/000001.jpg")
    assert catalog["raw_label"].tolist()[:2] == ["0", "1"] and catalog["class_name"].tolist()[:2] == TWO_CLASSES


def test_case_leading_zero_pattern_is_refused_when_the_config_is_checked(root, tmp_path, snakemake_exe):
    """Case leading-zero-ids, config_pattern.yaml: {id:06d} crashed mid-run with a ValueError; now Snakemake refuses
    the config before any job, naming the key."""
    from galaxy_pretraining.config import ConfigError
    from galaxy_pretraining.data.kinds import check_data

    with pytest.raises(ConfigError, match=r"data.folder.image_pattern: '\{id:06d\}.jpg' has \{id:06d\}"):
        check_data(case_config("leading-zero-ids", "config_pattern.yaml"))
    config = tmp_path / "config_pattern.yaml"
    config.write_text((CASES / "leading-zero-ids/config_pattern.yaml").read_text().replace("<cases>", str(CASES)))
    result = subprocess.run([snakemake_exe, "-s", str(root / "Snakefile"), "-d", str(tmp_path), "--configfile",
                             str(config), "--cores", "1", "results/leading-zero-pattern/catalog.parquet"],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode != 0
    assert "data.folder.image_pattern: '{id:06d}.jpg' has {id:06d}; only {id} is allowed" in result.stdout + result.stderr
    assert not (tmp_path / "results").exists()


@pytest.mark.parametrize("pattern, fault", [("{id}.jpg", None), ("cutouts/{id}.jpeg", None),
                                            ("{id:06d}.jpg", "{id:06d}"), ("{id!r}.jpg", "{id!r}"),
                                            ("{name}.jpg", "{name}"), ("{}.jpg", "{}"), ("galaxy.jpg", "no {id}"),
                                            ("{id.jpg", "not a valid pattern")])
def test_image_pattern_allows_only_the_id_as_written(pattern, fault):
    from galaxy_pretraining.config import ConfigError
    from galaxy_pretraining.data.kinds.folder import check_image_pattern

    if fault is None:
        check_image_pattern(pattern)
    else:
        with pytest.raises(ConfigError, match=re.escape(fault)):
            check_image_pattern(pattern)


def test_case_blank_label_names_the_row_with_the_empty_cell():
    """Case blank-label: galaxy g007's empty label made the column float and the error blamed g000's '0.0'."""
    with pytest.raises(CatalogError) as error:
        folder_catalog(case_config("blank-label"))
    assert str(error.value) == (f"{CASES / 'blank-label/labels.csv'}: data row 8 (line 9) has an empty label cell "
                                f"(column 'label')")


@pytest.mark.parametrize("rows, message", [
    ("id,label\ng0,0\n,1\n", "data row 2 (line 3) has an empty id cell (column 'id')"),
    ("id,label\ng0,0\ng1,   \n", "data row 2 (line 3) has an empty label cell (column 'label')"),
    ("id,label,file\ng0,0,g0.jpg\ng1,1,\n", "data row 2 (line 3) has an empty image cell (column 'file')"),
])
def test_an_empty_cell_is_an_error_naming_its_row(tmp_path, rows, message):
    (tmp_path / "labels.csv").write_text(rows)
    data = data_block("folder", table=str(tmp_path / "labels.csv"), image_column="file" if "file" in rows else None,
                      class_map={"elliptical": [0], "spiral": [1]})
    with pytest.raises(CatalogError, match=re.escape(message)):
        build_catalog(data, TWO_CLASSES, {"raw": data["folder"]["table"]})


def test_case_image_column_is_relative_to_image_dir():
    """Case image-column-dir: the file column was joined to the table's folder and image_dir was ignored."""
    catalog = folder_catalog(case_config("image-column-dir"))
    assert catalog["image_path"].tolist() == [str(CASES / f"image-column-dir/data/cutouts/g{i:03d}.jpg")
                                              for i in range(40)]


def test_image_dir_null_means_the_tables_folder_for_column_and_pattern(tmp_path):
    config = case_config("image-column-dir")
    config["data"]["folder"]["image_dir"] = None  # the images are not beside the table: an error naming them
    with pytest.raises(CatalogError, match=re.escape(f"40 image file(s) missing, first: ['{CASES}/image-column-dir/"
                                                     f"tables/g000.jpg'")):
        folder_catalog(config)
    for name in ("g0.jpg", "g1.jpg"):
        (tmp_path / name).write_bytes(b"x")
    (tmp_path / "labels.csv").write_text(f"id,label,file\ng0,0,g0.jpg\ng1,1,{tmp_path / 'g1.jpg'}\n")
    for column in ("file", None):  # by the column (one path absolute: kept as it is), and by image_pattern
        data = data_block("folder", table=str(tmp_path / "labels.csv"), image_column=column,
                          class_map={"elliptical": [0], "spiral": [1]})
        catalog = build_catalog(data, TWO_CLASSES, {"raw": data["folder"]["table"]})
        assert catalog["image_path"].tolist() == [str(tmp_path / "g0.jpg"), str(tmp_path / "g1.jpg")]


def sample_with_ids(folder: Path, ids: list[str]) -> None:
    for i in ids:
        (folder / f"{i}.jpg").write_bytes(b"x")


def test_long_integer_ids_stay_whole_in_csv_and_parquet(tmp_path):
    ids = ["588848901537202306", "587722952767439450", "000000000000000042"]
    sample_with_ids(tmp_path, ids)
    (tmp_path / "labels.csv").write_text("OBJID,CLASS\n" + "".join(f"{i},{n % 2}\n" for n, i in enumerate(ids)))
    pd.DataFrame({"OBJID": [int(i) for i in ids[:2]], "CLASS": [0, 1]}).to_parquet(tmp_path / "labels.parquet")
    for table, expected in (("labels.csv", ids), ("labels.parquet", ids[:2])):
        data = data_block("folder", table=str(tmp_path / table), id_column="OBJID", label_column="CLASS",
                          class_map={"elliptical": [0], "spiral": [1]})
        catalog = build_catalog(data, TWO_CLASSES, {"raw": data["folder"]["table"]})
        assert catalog["id"].tolist() == expected and catalog["raw_label"].tolist() == ["0", "1", "0"][:len(expected)]


def test_bytes_of_an_astropy_written_table_are_decoded(tmp_path):
    ids = ["000001", "000002"]
    sample_with_ids(tmp_path, ids)
    Table({"id": np.array([b"000001", b"000002"]), "label": np.array([b"e", b"s"]),
           "ra": [10.5, 11.0]}).write(tmp_path / "labels.parquet")
    data = data_block("folder", table=str(tmp_path / "labels.parquet"), class_map={"elliptical": ["e"], "spiral": ["s"]})
    catalog = build_catalog(data, TWO_CLASSES, {"raw": data["folder"]["table"]})
    assert catalog["id"].tolist() == ids and catalog["class_name"].tolist() == TWO_CLASSES
    assert catalog["ra"].tolist() == [10.5, 11.0]


def test_a_floating_point_id_column_is_refused(tmp_path):
    pd.DataFrame({"id": [5.88848901537202306e17, 7.0], "label": [0, 1]}).to_parquet(tmp_path / "labels.parquet")
    data = data_block("folder", table=str(tmp_path / "labels.parquet"), image_dir=str(tmp_path),
                      class_map={"elliptical": [0], "spiral": [1]})
    with pytest.raises(CatalogError, match="id column 'id' holds floating-point numbers"):
        build_catalog(data, TWO_CLASSES, {"raw": data["folder"]["table"]})


def test_an_integer_id_column_with_an_empty_cell_names_the_row_not_the_type(tmp_path):
    """Parquet reads an integer column with a null as floats: the empty cell is the fault, and is named."""
    from galaxy_pretraining.data.catalog import read_sample_table

    pd.DataFrame({"id": pd.array([1, None], dtype="Int64"), "label": [0, 1]}).to_parquet(tmp_path / "t.parquet")
    with pytest.raises(CatalogError, match=r"t.parquet: row 1 \(from 0\) has an empty id cell"):
        read_sample_table(tmp_path / "t.parquet", {"id": "id", "label": "label"})

"""Sample tables and file names as people keep them: Excel workbooks, tab- and semicolon-separated tables, text not
in UTF-8, file names named on a Mac (NFD). Cases table-excel-encoding and unicode-nfd-filenames (tests/data/cases)."""

import subprocess
import unicodedata

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from galaxy_pretraining.data.catalog import CatalogError
from galaxy_pretraining.data.kinds import build_catalog

from helpers.configs import data_block
from helpers.paths import DATA

CASES = DATA / "cases"
CLASSES = ["elliptical", "spiral"]
CLASS_MAP = {"elliptical": [0], "spiral": [1]}


def folder_catalog(table, image_dir, **settings) -> pd.DataFrame:
    """The catalog the folder kind builds from `table` and the images in `image_dir`."""
    data = data_block("folder", table=str(table), image_dir=str(image_dir), class_map=CLASS_MAP, **settings)
    return build_catalog(data, CLASSES, {"raw": data["folder"]["table"]})


def test_case_excel_workbook_is_read_as_its_csv_is():
    """Case table-excel-encoding, labels.xlsx: stopped with a bare UnicodeDecodeError; now read (first sheet)."""
    case = CASES / "table-excel-encoding"
    from_xlsx = folder_catalog(case / "labels.xlsx", case / "images")
    from_csv = folder_catalog(case / "labels.csv", case / "images")
    assert len(from_xlsx) == 40
    pd.testing.assert_frame_equal(from_xlsx, from_csv)


def test_case_cp1252_csv_is_an_error_naming_file_line_and_byte_or_read_with_its_encoding():
    """Case table-excel-encoding, labels-cp1252.csv (Réunion-02 on line 4, saved by Excel on Windows)."""
    case = CASES / "table-excel-encoding"
    with pytest.raises(CatalogError) as error:
        folder_catalog(case / "labels-cp1252.csv", case / "images")
    assert str(error.value).startswith(f"{case / 'labels-cp1252.csv'}: line 4 is not utf-8 (byte 0xe9 ")
    assert "data.folder.encoding" in str(error.value)
    catalog = folder_catalog(case / "labels-cp1252.csv", case / "images", encoding="cp1252")
    assert catalog["id"].iloc[2] == "Réunion-02" and len(catalog) == 40
    assert (case / "images" / "Réunion-02.jpg").exists()


def write_images(folder, ids) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for i, galaxy in enumerate(ids):
        Image.fromarray(np.full((16, 16, 3), 40 + i, np.uint8)).save(folder / f"{galaxy}.png")


def test_semicolon_latin1_and_tab_separated_tables_are_read(tmp_path):
    ids, labels = ["Göteborg-1", "g2", "g3"], ["0", "1", "0"]
    write_images(tmp_path / "images", ids)
    (tmp_path / "labels-semicolon.csv").write_bytes(b"id;label\n" + "".join(
        f"{i};{label}\n" for i, label in zip(ids, labels)).encode("latin-1"))
    pd.DataFrame({"id": ids, "label": labels}).to_csv(tmp_path / "labels.tsv", sep="\t", index=False)
    pd.DataFrame({"id": ids, "label": labels}).to_csv(tmp_path / "labels.tab", sep="\t", index=False)
    for name, settings in [("labels-semicolon.csv", {"encoding": "latin-1"}), ("labels.tsv", {}), ("labels.tab", {})]:
        catalog = folder_catalog(tmp_path / name, tmp_path / "images", image_pattern="{id}.png", **settings)
        assert catalog["id"].tolist() == ids and catalog["raw_label"].tolist() == labels, name
    with pytest.raises(CatalogError, match=r"labels-semicolon.csv: line 2 is not utf-8 \(byte 0xf6 "):
        folder_catalog(tmp_path / "labels-semicolon.csv", tmp_path / "images", image_pattern="{id}.png")


def test_workbooks_that_are_not_read_are_refused_naming_the_file_and_what_to_do(tmp_path):
    case = CASES / "table-excel-encoding"
    (tmp_path / "labels.csv").write_bytes((case / "labels.xlsx").read_bytes())  # a workbook named as a CSV
    with pytest.raises(CatalogError, match=r"labels.csv: is an Excel workbook \(xlsx, a zip\), not a text table: "
                                           r"name it .xlsx"):
        folder_catalog(tmp_path / "labels.csv", case / "images")
    (tmp_path / "labels.xls").write_bytes(b"\xd0\xcf\x11\xe0" + bytes(100))
    with pytest.raises(CatalogError, match=r"labels.xls: .xls workbooks are not read; save it as .xlsx"):
        folder_catalog(tmp_path / "labels.xls", case / "images")


def test_case_unicode_nfd_filenames_are_found_from_the_tables_nfc_ids():
    """Case unicode-nfd-filenames: images named on a Mac (NFD) were "missing" while ls showed the table's names."""
    case = CASES / "unicode-nfd-filenames"
    on_disk = {name for name in (p.name for p in (case / "images").iterdir()) if not name.isascii()}
    assert on_disk and all(unicodedata.is_normalized("NFD", n) and not unicodedata.is_normalized("NFC", n)
                           for n in on_disk)
    catalog = folder_catalog(case / "labels.csv", case / "images")
    assert len(catalog) == 40
    assert catalog["id"].tolist()[:3] == ["Réunion-01", "Ångström-02", "Şule-03"]
    assert all(unicodedata.is_normalized("NFC", i) for i in catalog["id"])
    for path in catalog["image_path"][:3]:
        assert open(path, "rb").read(2) == b"\xff\xd8"  # the NFD file itself, opened


def test_nfd_folder_names_and_nfd_ids_in_the_table_are_matched_in_nfc(tmp_path):
    """A Mac-named folder (NFD) under an NFC image_dir, and a table whose ids are NFD: the same galaxies."""
    nfd = lambda text: unicodedata.normalize("NFD", text)  # noqa: E731
    write_images(tmp_path / nfd("Séries") / "cutouts", ["Ærø-1", nfd("Édith-2"), "g3"])
    pd.DataFrame({"id": [nfd("Ærø-1"), nfd("Édith-2"), "g3"], "label": ["0", "1", "0"],
                  "file": [f"cutouts/{nfd('Ærø-1')}.png", "cutouts/Édith-2.png", "cutouts/g3.png"]}
                 ).to_csv(tmp_path / "labels.csv", index=False)
    catalog = folder_catalog(tmp_path / "labels.csv", tmp_path / "Séries", image_column="file")
    assert catalog["id"].tolist() == ["Ærø-1", "Édith-2", "g3"]
    assert all(Image.open(path).size == (16, 16) for path in catalog["image_path"])


def test_case_alpha_channel_png_study_summary_counts_what_the_store_checks_found(root, tmp_path, snakemake_exe):
    """The workflow as a user runs it, to the sample summary: the store rule's checks reach the table."""
    config = tmp_path / "config.yaml"
    config.write_text((CASES / "alpha-channel-png/config.yaml").read_text()
                      .replace("<cases>", str(CASES)))
    result = subprocess.run([snakemake_exe, "-s", str(root / "Snakefile"), "-d", str(tmp_path), "--configfile",
                             str(config), "--cores", "1", "results/alpha-channel-png/tables/sample_summary.csv"],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    results = tmp_path / "results/alpha-channel-png"
    summary = pd.read_csv(results / "tables/sample_summary.csv").set_index("class_name")["galaxies"]
    assert summary["transparent: composited onto black"] == 40 and summary["identical image of another galaxy, kept"] == 0
    assert (np.load(results / "images.npy") == 255).all(1).mean() < 0.001
    assert pd.read_parquet(results / "catalog.parquet")["id"].tolist() == pd.read_parquet(
        results / "catalog_listed.parquet")["id"].tolist()  # nothing dropped: the store's catalog is the listed one
    assert "transparent=40," in (results / "logs/array_store.log").read_text()


def test_ids_with_spaces_around_them_are_kept_and_the_missing_images_message_says_so(tmp_path):
    """Ids are never stripped: an id a spreadsheet left a space after names no file, and the message says why."""
    write_images(tmp_path, ["587001", "587002"])
    pd.DataFrame({"id": ["587001", "587002 "], "label": ["0", "1"]}).to_csv(tmp_path / "labels.csv", index=False)
    with pytest.raises(CatalogError, match=r"1 image file\(s\) missing.*id '587002 ' has a trailing space"):
        folder_catalog(tmp_path / "labels.csv", tmp_path, image_pattern="{id}.png")

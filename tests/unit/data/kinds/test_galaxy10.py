"""Galaxy10 DECaLS: the mock file's layout, the catalog from the HDF5 datasets, the store read in chunks."""

import tracemalloc

import h5py
import numpy as np
import pytest

from galaxy_pretraining.data import array_store
from galaxy_pretraining.data.array_store import hdf5_reference, resize_pixels, write_array_store
from galaxy_pretraining.data.catalog import CATALOG_COLUMNS, CatalogError
from galaxy_pretraining.data.kinds.galaxy10_decals.classes import CLASS_COUNTS, CLASS_NAMES
from galaxy_pretraining.data.kinds.galaxy10_decals.galaxy10 import catalog_from_hdf5, write_mock_galaxy10


@pytest.fixture(scope="module")
def mock_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("g10") / "Galaxy10_DECals.h5"
    write_mock_galaxy10(path, n_galaxies=300, seed=3, image_size=64)
    return path


def test_the_mock_has_the_real_files_layout(mock_file):
    with h5py.File(mock_file) as handle:
        assert sorted(handle) == ["ans", "dec", "images", "pxscale", "ra", "redshift"]
        assert handle["images"].shape == (300, 64, 64, 3) and handle["images"].dtype == np.uint8
        for name in ("ans", "ra", "dec", "redshift", "pxscale"):
            assert handle[name].shape == (300,)
        answers = handle["ans"][()]
    counts = np.bincount(answers, minlength=10)
    assert counts.min() >= 1 and counts.sum() == 300
    # the real file's proportions: round smooth the largest class, cigar-shaped the smallest
    assert counts.argmax() in (2, 7) and counts.argmin() == 4
    assert np.abs(counts / 300 - np.array(CLASS_COUNTS) / sum(CLASS_COUNTS)).max() < 0.02


def test_the_catalog_has_one_row_per_image_with_its_class(mock_file):
    catalog = catalog_from_hdf5(mock_file, CLASS_NAMES)
    assert list(catalog.columns) == CATALOG_COLUMNS and len(catalog) == 300
    with h5py.File(mock_file) as handle:
        assert (catalog["class_index"].to_numpy() == handle["ans"][()]).all()
        assert np.allclose(catalog["ra"], handle["ra"][()])
    assert catalog["class_name"].iloc[0] == CLASS_NAMES[catalog["class_index"].iloc[0]]
    assert catalog["image_path"].iloc[7] == f"{mock_file}#images/7"
    assert np.allclose(catalog["size_arcsec"], 64 * 0.262)  # pixels x arcsec per pixel


def test_the_store_holds_each_image_of_the_file_resized(mock_file, tmp_path):
    catalog = catalog_from_hdf5(mock_file, CLASS_NAMES)
    write_array_store(catalog["image_path"].tolist(), tmp_path / "images.npy", 48, threads=2)
    store = np.load(tmp_path / "images.npy")
    assert store.shape == (300, 3, 48, 48)
    with h5py.File(mock_file) as handle:
        for row in (0, 150, 299):
            assert np.array_equal(store[row], resize_pixels(handle["images"][row], 48, "x"))


def test_the_store_is_built_a_chunk_at_a_time(tmp_path, monkeypatch):
    """Never the file's pixels in memory at once: the peak stays near one chunk (32 of 900 images).

    Reading the whole dataset at once peaks at 17 times the chunked peak here (measured)."""
    path = tmp_path / "Galaxy10_DECals.h5"
    write_mock_galaxy10(path, n_galaxies=900, seed=4, image_size=64)
    monkeypatch.setattr(array_store, "CHUNK_ROWS", 32)
    paths = catalog_from_hdf5(path, CLASS_NAMES)["image_path"].tolist()
    all_pixels = 900 * 64 * 64 * 3
    tracemalloc.start()
    write_array_store(paths, tmp_path / "images.npy", 64, threads=1)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < all_pixels / 5, f"peak {peak} bytes for {all_pixels} bytes of pixels"


def test_hdf5_references():
    assert hdf5_reference("/data/Galaxy10_DECals.h5#images/17") == ("/data/Galaxy10_DECals.h5", "images", 17)
    assert hdf5_reference("/data/cutouts/J0001.jpg") is None
    assert hdf5_reference("/data/odd#name.jpg") is None


def test_a_missing_dataset_names_the_file_and_the_dataset(tmp_path):
    path = tmp_path / "broken.h5"
    with h5py.File(path, "w") as handle:
        handle["images"] = np.zeros((3, 8, 8, 3), np.uint8)
        handle["ans"] = np.zeros(3, np.uint8)
    with pytest.raises(CatalogError, match=r"broken.h5: no dataset \['ra', 'dec', 'redshift', 'pxscale'\]"):
        catalog_from_hdf5(path, CLASS_NAMES)


def test_a_class_index_outside_0_to_9_names_the_row(mock_file, tmp_path):
    path = tmp_path / "bad.h5"
    path.write_bytes(mock_file.read_bytes())
    with h5py.File(path, "r+") as handle:
        answers = handle["ans"][()]
        answers[41] = 12
        handle["ans"][...] = answers
    with pytest.raises(CatalogError, match=r"bad.h5: ans\[41\] = 12 is not a class index 0-9"):
        catalog_from_hdf5(path, CLASS_NAMES)


def test_a_truncated_file_is_named(mock_file, tmp_path):
    path = tmp_path / "truncated.h5"
    path.write_bytes(mock_file.read_bytes()[:2000])
    with pytest.raises(CatalogError, match="truncated.h5: not a readable HDF5 file"):
        catalog_from_hdf5(path, CLASS_NAMES)


def test_the_catalog_step_verifies_the_real_file_before_reading_it(mock_file):
    from galaxy_pretraining.data.download import DownloadError
    from galaxy_pretraining.data.kinds import galaxy10_decals
    from galaxy_pretraining.io import sha256_of

    settings = {"mock": None, "sha256": "f" * 64, "expected_class_counts": None}
    with pytest.raises(DownloadError, match=r"Galaxy10_DECals.h5: sha256 \w+ is not the expected f{64}"):
        galaxy10_decals.build_catalog(settings, list(CLASS_NAMES), {"hdf5": str(mock_file)})
    settings["sha256"] = sha256_of(mock_file)
    assert len(galaxy10_decals.build_catalog(settings, list(CLASS_NAMES), {"hdf5": str(mock_file)})) == 300


def test_a_config_of_galaxy10_is_checked(root):
    import yaml

    from galaxy_pretraining.config import ConfigError
    from galaxy_pretraining.study import resolve

    config = yaml.safe_load((root / "config/demo.yaml").read_text())
    config["data"] = {"kind": "galaxy10_decals", "galaxy10_decals": {"mock": {"n_galaxies": 200}}}
    with pytest.raises(ConfigError, match="classes: the galaxy10_decals sample has the classes"):
        resolve(dict(config))
    config["classes"] = list(CLASS_NAMES)
    resolved = resolve(dict(config))
    assert resolved["data"]["galaxy10_decals"]["sha256"].startswith("19aefc47")
    assert resolved["data"]["galaxy10_decals"]["mock"]["image_size"] == 64
    config["data"]["galaxy10_decals"]["expected_class_counts"] = {"disturbed": 1081}
    with pytest.raises(ConfigError, match="expected_class_counts: give the count of each of"):
        resolve(dict(config))


def _with(mock_file, tmp_path, name, dataset, rows, value):
    """A copy of the mock file with `dataset[rows] = value`."""
    path = tmp_path / name
    path.write_bytes(mock_file.read_bytes())
    with h5py.File(path, "r+") as handle:
        values = handle[dataset][()]
        values[rows] = value
        handle[dataset][...] = values
    return path


def test_a_negative_redshift_is_a_warning_naming_the_rows_and_becomes_missing(mock_file, tmp_path):
    """Galaxy10_coord.csv's redshift is its dec: negative in 1,741 rows. The study does not use it: warn."""
    from galaxy_pretraining.data.kinds.galaxy10_decals.galaxy10 import RedshiftWarning

    path = _with(mock_file, tmp_path, "neg_z.h5", "redshift", [5, 17, 230], -12.5)
    with pytest.warns(RedshiftWarning, match=r"neg_z.h5: redshift is negative or infinite in "
                                             r"rows 5, 17, 230 \(3 of 300\), e.g. redshift\[5\] = -12.5"):
        catalog = catalog_from_hdf5(path, CLASS_NAMES)
    assert catalog["redshift"].isna().tolist() == [i in (5, 17, 230) for i in range(300)]
    assert len(catalog) == 300


def test_a_redshift_equal_to_dec_in_every_row_is_caught_where_a_sign_check_passes_it():
    """The public export's fault: redshift is dec. Positive decs pass a sign check, so each equality is named."""
    from galaxy_pretraining.data.kinds.galaxy10_decals.galaxy10 import RedshiftWarning, check_pxscale_and_redshift

    dec = np.array([45.2, -3.1, 12.0, 0.05])
    with pytest.warns(RedshiftWarning) as caught:
        redshift = check_pxscale_and_redshift(np.full(4, 0.262), dec.copy(), "coord", dec)
    messages = [str(w.message) for w in caught]
    assert any("negative or infinite in row 1 " in m for m in messages)
    assert any("equal to the row's dec in rows 0, 2, 3 (3 of 4)" in m for m in messages)
    assert np.isnan(redshift).all()
    kept = check_pxscale_and_redshift(np.full(2, 0.262), np.array([0.05, 0.1]), "ok", np.array([30.0, -2.0]))
    assert kept.tolist() == [0.05, 0.1]


def test_missing_and_non_negative_redshifts_pass_without_a_warning(mock_file, tmp_path):
    import warnings

    path = _with(mock_file, tmp_path, "nan_z.h5", "redshift", [3, 4], [np.nan, 0.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        catalog = catalog_from_hdf5(path, CLASS_NAMES)
    assert np.isnan(catalog["redshift"].iloc[3]) and catalog["redshift"].iloc[4] == 0.0


@pytest.mark.parametrize("value", [0.0, -0.262, np.nan])
def test_a_pxscale_that_is_not_positive_is_an_error_naming_the_rows(mock_file, tmp_path, value):
    path = _with(mock_file, tmp_path, "bad_px.h5", "pxscale", [8, 99], value)
    with pytest.raises(CatalogError, match=r"bad_px.h5: pxscale \(arcsec per pixel\) is not a positive number in "
                                           r"rows 8, 99 \(2 of 300\)"):
        catalog_from_hdf5(path, CLASS_NAMES)


def test_many_bad_rows_are_counted_and_the_first_ten_named():
    from galaxy_pretraining.data.kinds.galaxy10_decals.galaxy10 import check_pxscale_and_redshift

    with pytest.raises(CatalogError, match=r"src: pxscale .* rows 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, \.\.\. \(1,741 of 1,741\)"):
        check_pxscale_and_redshift(np.full(1741, -1.0), np.zeros(1741), "src")

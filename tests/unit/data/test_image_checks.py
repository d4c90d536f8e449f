"""The array store stores each image as what it shows: transparency composited onto black, no stretching of
non-square images, identical images under two ids found, the folder kind's no-data frames flagged (array_store,
screening). Cases alpha-channel-png, non-square-squashed, duplicate-images (tests/data/cases)."""

import logging

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from galaxy_pretraining.data.array_store import ImageCheckError, open_array_store, read_rows, write_array_store
from galaxy_pretraining.data.catalog import CatalogError, sample_summary, stored_catalog
from galaxy_pretraining.data.kinds import build_catalog, no_data_screening
from galaxy_pretraining.data.splits import make_splits

from helpers.configs import data_block
from helpers.paths import DATA

CASES = DATA / "cases"
CLASSES = ["elliptical", "spiral"]


def case_catalog(case: str, **settings) -> tuple[pd.DataFrame, dict]:
    """The catalog of a case as the folder kind builds it, and its resolved data block."""
    folder = CASES / case
    data = data_block("folder", table=str(folder / "labels.csv"), image_dir=str(folder / "images"),
                      class_map={"elliptical": [0], "spiral": [1]}, **settings)
    return build_catalog(data, CLASSES, {"raw": data["folder"]["table"]}), data


def store_of(catalog: pd.DataFrame, data: dict, target, size: int, **options) -> tuple[np.ndarray, pd.DataFrame]:
    """Build the store as the array_store rule does; (stored pixels, image checks)."""
    checks = write_array_store(catalog["image_path"].tolist(), target, size, ids=catalog["id"].tolist(),
                               screen=no_data_screening(data), **options)
    return np.load(target), checks


def axis_ratio(image: np.ndarray, sky: float | None = None) -> float:
    """sigma_x / sigma_y of the light above the sky (default: the median) of a 3 x S x S stored image (the case
    README's measure)."""
    light = image.mean(0).astype(float)
    light -= np.median(light) if sky is None else sky
    light[light < 0] = 0
    y, x = np.mgrid[: light.shape[0], : light.shape[1]]
    total = light.sum()
    mx, my = (light * x).sum() / total, (light * y).sum() / total
    return float(np.sqrt((light * (x - mx) ** 2).sum() / total) / np.sqrt((light * (y - my) ** 2).sum() / total))


# --- transparency ----------------------------------------------------------------------------------------------


def test_case_alpha_channel_png_stores_black_sky_not_the_white_under_it(tmp_path, caplog):
    """Case alpha-channel-png: 40 RGBA cutouts, white under a transparent sky; the store held 94 % white pixels."""
    catalog, data = case_catalog("alpha-channel-png", image_pattern="{id}.png")
    with caplog.at_level(logging.INFO):
        store, checks = store_of(catalog, data, tmp_path / "images.npy", 32)
    assert (store == 255).all(1).mean() < 0.001  # was 0.94
    for i, path in enumerate(catalog["image_path"]):
        rgba = np.asarray(Image.open(path)).astype(np.uint32)
        expected = ((rgba[..., :3] * rgba[..., 3:] + 127) // 255).astype(np.uint8).transpose(2, 0, 1)
        assert np.array_equal(store[i], expected), path
        assert (store[i][:, rgba[..., 3] == 0] == 0).all()  # transparent: black
    assert (checks["transparent_pixels"] > 0).all() and (checks["no_data"] == "").all()  # centres opaque: kept
    assert "transparent=40," in caplog.text


def galaxy_frame(size: int = 20) -> tuple[np.ndarray, np.ndarray]:
    """(8-bit grey galaxy values, opaque mask): a disc of light on a background that is white but transparent."""
    y, x = np.mgrid[:size, :size] - (size - 1) / 2
    disc = np.hypot(x, y) < size / 3
    values = np.where(disc, (200 * np.exp(-np.hypot(x, y) / 4) + 40).astype(np.uint8), 255).astype(np.uint8)
    return values, disc


def write_transparent(path, mode: str) -> None:
    """The galaxy_frame as an image of `mode` whose background is transparent (alpha 0, or the tRNS colour)."""
    values, disc = galaxy_frame()
    alpha = np.where(disc, 255, 0).astype(np.uint8)
    if mode in ("RGBA", "LA"):
        bands = np.stack([values] * 3 + [alpha], -1) if mode == "RGBA" else np.stack([values, alpha], -1)
        Image.fromarray(bands, mode).save(path)
    elif mode in ("P", "P-alpha-table"):
        image = Image.fromarray(np.stack([values] * 3, -1), "RGB").convert("P", palette=Image.Palette.ADAPTIVE)
        background = int(np.asarray(image)[0, 0])  # the background's palette entry
        image.save(path, transparency=background if mode == "P" else  # one transparent entry, or an alpha per entry
                   bytes(0 if entry == background else 255 for entry in range(256)))
    elif mode == "L":
        Image.fromarray(values, "L").save(path, transparency=255)
    elif mode == "RGB":
        Image.fromarray(np.stack([values] * 3, -1), "RGB").save(path, transparency=(255, 255, 255))
    elif mode == "I;16":
        Image.fromarray(values.astype(np.uint16) * 257).save(path, transparency=65535)


@pytest.mark.parametrize("mode", ["RGBA", "LA", "P", "P-alpha-table", "L", "RGB", "I;16"])
def test_every_mode_that_carries_transparency_is_composited_onto_black(tmp_path, mode):
    """PNG's ways to be transparent, each as PIL opens it (PA, which PIL cannot write, takes the RGBA path)."""
    write_transparent(tmp_path / "g.png", mode)
    with Image.open(tmp_path / "g.png") as image:
        assert image.mode == mode.split("-")[0] and (mode in ("RGBA", "LA") or "transparency" in image.info)
    values, disc = galaxy_frame()
    store = write_array_store([str(tmp_path / "g.png")], tmp_path / "images.npy", 20)
    stored = np.load(tmp_path / "images.npy")[0]
    assert (stored[:, ~disc] == 0).all()  # the white under the transparency is not stored
    assert np.abs(stored[:, disc].astype(int) - values[disc]).max() <= 2  # the galaxy as it is (palette: close)
    assert store["transparent_pixels"].iloc[0] == (~disc).sum()


# --- non-square images ------------------------------------------------------------------------------------------


def gaussian_image(path, width: int, height: int, sigma: float = 3.5) -> None:
    """A round galaxy (circular Gaussian) on a faint sky, centred in a width x height RGB frame."""
    y, x = np.mgrid[:height, :width]
    light = 20 + 220 * np.exp(-((x - (width - 1) / 2) ** 2 + (y - (height - 1) / 2) ** 2) / (2 * sigma**2))
    Image.fromarray(np.stack([light.astype(np.uint8)] * 3, -1), "RGB").save(path)


@pytest.mark.parametrize("square", ["pad", "crop"])
def test_case_non_square_squashed_keeps_a_round_galaxy_round(tmp_path, square):
    """Case non-square-squashed: 64 x 32 cutouts stretched to 32 x 32 gave the round galaxy axis ratio 0.51."""
    catalog, data = case_catalog("non-square-squashed", image_column="file")
    store, checks = store_of(catalog, data, tmp_path / "images.npy", 32, square=square)
    round_row = int(np.flatnonzero(catalog["id"] == "round")[0])
    assert axis_ratio(store[round_row]) == pytest.approx(1.0, abs=0.06)  # was 0.51
    assert (checks["squared"] == square).all() and set(zip(checks["width"], checks["height"])) == {(64, 32)}


@pytest.mark.parametrize("square", ["pad", "crop"])
def test_a_portrait_image_is_made_square_by_the_rule_never_stretched(tmp_path, square, caplog):
    gaussian_image(tmp_path / "tall.png", 32, 64)
    with caplog.at_level(logging.INFO):
        checks = write_array_store([str(tmp_path / "tall.png")], tmp_path / "images.npy", 32, square=square)
    stored = np.load(tmp_path / "images.npy")[0]
    assert axis_ratio(stored, sky=20) == pytest.approx(1.0, abs=0.06)
    if square == "pad":  # the 32 px wide frame centred on a 64 px black square: its sides are black
        assert (stored[:, :, :7] == 0).all() and (stored[:, :, -7:] == 0).all()
    else:  # the central 32 x 32 of the frame, unresized
        assert stored.min() > 0
    assert checks["squared"].tolist() == [square]
    assert ("padded=1, cropped=0" if square == "pad" else "padded=0, cropped=1") in caplog.text
    assert "non_square_sizes=32x64," in caplog.text


# --- identical images -------------------------------------------------------------------------------------------


def test_case_duplicate_images_is_an_error_naming_the_pairs(tmp_path):
    """Case duplicate-images: 12 galaxies under two ids each (g000 ... and NGC4000 ...) ran without a word."""
    catalog, data = case_catalog("duplicate-images")
    with pytest.raises(ImageCheckError) as error:
        store_of(catalog, data, tmp_path / "images.npy", 32)
    message = str(error.value)
    assert message.startswith("12 image(s) identical to another row's")
    assert "NGC4000" in message and f"({CASES / 'duplicate-images/images/NGC4000.jpg'})" in message
    pairs = [part.split(" and ") for part in message.split(": ", 1)[1].split(". Remove")[0].split("; ")[:10]]
    for first, second in pairs:  # each pair: a survey id and a catalogue name, the same image
        ids = sorted(text.split(" (")[0] for text in (first, second))
        assert ids[0].startswith("NGC") and ids[1].startswith("g")
        rows = catalog.set_index("id").loc[ids, "image_path"]
        assert np.array_equal(np.asarray(Image.open(rows.iloc[0])), np.asarray(Image.open(rows.iloc[1])))
    assert not (tmp_path / "images.npy").exists() and list(tmp_path.iterdir()) == []


def test_duplicate_images_warn_keeps_both_and_the_summary_counts_them(tmp_path):
    catalog, data = case_catalog("duplicate-images")
    store, checks = store_of(catalog, data, tmp_path / "images.npy", 32, duplicates="warn")
    copies = checks[checks["copy_of"] != ""]
    assert len(store) == 52 and len(copies) == 12
    for row, first in zip(copies["row"], copies["copy_of"]):
        assert np.array_equal(store[row], store[int(np.flatnonzero(catalog["id"] == first)[0])])
    summary = sample_summary(stored_catalog(catalog, checks), CLASSES, checks).set_index("class_name")
    assert summary.loc["identical image of another galaxy, kept", "galaxies"] == 12
    assert summary.loc["total", "galaxies"] == 52


def test_duplicate_images_drop_leaves_the_copies_out_of_store_catalog_and_splits(tmp_path):
    """duplicate_images: drop: the store and the catalog it writes hold 40 galaxies, row for row the same, and no
    split puts a copy of a training image in the test set."""
    listed, data = case_catalog("duplicate-images")
    store, checks = store_of(listed, data, tmp_path / "images.npy", 32, duplicates="drop")
    catalog = stored_catalog(listed, checks)
    assert len(store) == len(catalog) == 40
    assert open_array_store(tmp_path / "images.npy").shape == (40, 3, 32, 32)  # as the training jobs read it
    assert np.array_equal(read_rows(tmp_path / "images.npy", np.arange(40)), store)
    dropped = checks[checks["dropped"] != ""]
    assert len(dropped) == 12 and set(dropped["id"]).isdisjoint(catalog["id"])
    for i, path in enumerate(catalog["image_path"]):  # row i of the store is row i of the catalog
        with Image.open(path) as image:
            assert np.array_equal(store[i], np.asarray(image).transpose(2, 0, 1)), path
    assert len({row.tobytes() for row in store}) == 40
    splits = make_splits(catalog["id"], [0, 1, 2], 10, 2023, 0)
    for _, run in splits.groupby("run"):
        train = {store[row].tobytes() for row in run[run["subset"] == "train"]["row"]}
        assert not any(store[row].tobytes() in train for row in run[run["subset"] == "test"]["row"])
    summary = sample_summary(catalog, CLASSES, checks).set_index("class_name")["galaxies"]
    assert summary["dropped: identical image of another galaxy"] == 12 and summary["total"] == 40


def test_identical_decoded_pixels_in_different_files_are_found_and_near_copies_are_not(tmp_path):
    """The same pixels as PNG and as TIFF (different bytes) are one image; one pixel changed is another."""
    gaussian_image(tmp_path / "a.png", 24, 24)
    pixels = np.asarray(Image.open(tmp_path / "a.png"))
    Image.fromarray(pixels).save(tmp_path / "a-copy.tiff")
    changed = pixels.copy()
    changed[0, 0] += 1
    Image.fromarray(changed).save(tmp_path / "b.png")
    assert (tmp_path / "a.png").read_bytes() != (tmp_path / "a-copy.tiff").read_bytes()
    paths = [str(tmp_path / name) for name in ("a.png", "b.png", "a-copy.tiff")]
    with pytest.raises(ImageCheckError, match=r"^1 image\(s\) identical .*: NGC1 \(.*a.png\) and SDSS3 \(.*a-copy"):
        write_array_store(paths, tmp_path / "images.npy", 24, ids=["NGC1", "SDSS2", "SDSS3"])


# --- the folder kind's no-data screening -----------------------------------------------------------------------


def test_folder_images_without_data_are_named_and_stop_the_store(tmp_path):
    """A blank frame and a frame whose centre is black (no data) are flagged as the SDSS downloads flag them."""
    rng = np.random.default_rng(0)
    sky = rng.integers(10, 60, size=(48, 48, 3), dtype=np.uint8)
    Image.fromarray(sky).save(tmp_path / "g1.png")
    Image.fromarray(rng.integers(10, 60, size=(48, 48, 3), dtype=np.uint8)).save(tmp_path / "g2.png")
    Image.fromarray(np.zeros((48, 48, 3), np.uint8)).save(tmp_path / "blank.png")
    holed = sky.copy()
    holed[12:36, 12:36] = 0
    Image.fromarray(holed).save(tmp_path / "hole.png")
    pd.DataFrame({"id": ["blank", "g1", "g2", "hole"], "label": ["1", "0", "1", "0"]}).to_csv(
        tmp_path / "labels.csv", index=False)
    data = data_block("folder", table=str(tmp_path / "labels.csv"), image_pattern="{id}.png",
                      class_map={"elliptical": [0], "spiral": [1]}, no_data_images="error")
    catalog = build_catalog(data, CLASSES, {"raw": data["folder"]["table"]})
    with pytest.raises(ImageCheckError, match=r"^2 image\(s\) with no data") as error:
        store_of(catalog, data, tmp_path / "images.npy", 32)
    assert "blank (" in str(error.value) and "blank.png): blank: grayscale std 0.00" in str(error.value)
    assert "hole.png): partial:" in str(error.value) and "the centre is not covered" in str(error.value)
    assert "g1.png" not in str(error.value) and "g2.png" not in str(error.value)
    assert not (tmp_path / "images.npy").exists()
    data["folder"]["no_data_images"] = "warn"
    store, checks = store_of(catalog, data, tmp_path / "images.npy", 32)
    assert len(store) == 4 and checks.set_index("id")["no_data"].ne("").to_dict() == {
        "blank": True, "g1": False, "g2": False, "hole": True}
    data["folder"]["no_data_images"] = "drop"  # the default, as the downloads set such cutouts aside
    store, checks = store_of(catalog, data, tmp_path / "images.npy", 48)
    kept = stored_catalog(catalog, checks)
    assert kept["id"].tolist() == ["g1", "g2"] and len(store) == 2
    assert np.array_equal(store[0], sky.transpose(2, 0, 1))


def sample_with_grey_frames(folder, grey_label: str) -> tuple[pd.DataFrame, dict]:
    """Four galaxies (labels 0, 1, 0, 1) and three uniform grey frames labelled `grey_label` (the relabel case's
    replacement cutouts): a folder sample with the defaults (no_data_images drop, duplicate_images error)."""
    rng = np.random.default_rng(1)
    rows = []
    for k in range(4):
        Image.fromarray(rng.integers(10, 200, size=(48, 48, 3), dtype=np.uint8)).save(folder / f"g{k}.png")
        rows.append((f"g{k}", str(k % 2)))
    for k in range(3):
        Image.fromarray(np.full((48, 48, 3), 128, np.uint8)).save(folder / f"grey{k}.png")
        rows.append((f"grey{k}", grey_label))
    pd.DataFrame(rows, columns=["id", "label"]).to_csv(folder / "labels.csv", index=False)
    data = data_block("folder", table=str(folder / "labels.csv"), image_pattern="{id}.png",
                      class_map={"elliptical": [0], "spiral": [1]})
    return build_catalog(data, CLASSES, {"raw": data["folder"]["table"]}), data


def test_identical_blank_frames_are_frames_without_data_not_one_galaxy_under_two_ids(tmp_path):
    catalog, data = sample_with_grey_frames(tmp_path, "1")
    store, checks = store_of(catalog, data, tmp_path / "images.npy", 32)
    checks = checks.set_index("id")
    assert checks["copy_of"].eq("").all()
    assert checks["dropped"].to_dict() == {"g0": "", "g1": "", "g2": "", "g3": "", "grey0": "no data",
                                           "grey1": "no data", "grey2": "no data"}
    assert stored_catalog(catalog, checks.reset_index())["id"].tolist() == ["g0", "g1", "g2", "g3"] and len(store) == 4


def test_a_class_whose_every_galaxy_the_store_dropped_is_an_error_naming_it(tmp_path):
    catalog, data = sample_with_grey_frames(tmp_path, "1")
    catalog.loc[catalog["id"].isin(["g1", "g3"]), ["raw_label", "class_name"]] = ["0", "elliptical"]
    catalog.loc[catalog["id"].isin(["g1", "g3"]), "class_index"] = 0
    _, checks = store_of(catalog, data, tmp_path / "images.npy", 32)
    with pytest.raises(CatalogError, match=r"^class 'spiral': every one of its galaxies was dropped by the array "
                                           r"store \(3 no data\)"):
        stored_catalog(catalog, checks)


def test_the_gz1_sdss_error_text_jpeg_is_dropped_by_the_folder_kind_and_named(gz1_sdss, tmp_path, caplog):
    """docs/data.md: 587729387686002878 is the cutout service's error text on black, no galaxy; the frame cut by the
    footprint's edge (34 % without data, its centre covered) is a galaxy and stays."""
    error_text, edge_cut = "587729387686002878", "587731514224672910"
    ids = [error_text, edge_cut, "587722952767439450"]
    pd.DataFrame({"id": ids, "label": ["0", "1", "0"]}).to_csv(tmp_path / "labels.csv", index=False)
    data = data_block("folder", table=str(tmp_path / "labels.csv"), image_dir=str(gz1_sdss / "images"),
                      image_pattern="{id}.jpeg", class_map={"elliptical": [0], "spiral": [1]})
    catalog = build_catalog(data, CLASSES, {"raw": data["folder"]["table"]})
    with caplog.at_level(logging.INFO):
        store, checks = store_of(catalog, data, tmp_path / "images.npy", 32)
    assert stored_catalog(catalog, checks)["id"].tolist() == ids[1:] and len(store) == 2
    assert f"1 image(s) with no data where a galaxy should be: {error_text} (" in caplog.text
    assert "the centre is not covered" in caplog.text and "drop leaves them out" in caplog.text

import numpy as np
import pandas as pd
from PIL import Image

from galaxy_pretraining.data.catalog import catalog_from_ttypes, class_count_table
from galaxy_pretraining.data.classes import CLASS_NAMES
from galaxy_pretraining.data.synthetic import class_counts, write_mock_sample


def test_class_counts_follow_the_paper():
    assert class_counts(14034).tolist() == [2738, 3215, 7708, 373]
    assert class_counts(100).sum() == 100


def test_mock_sample_has_the_real_schema_and_is_deterministic(tmp_path):
    a = write_mock_sample(tmp_path / "a.parquet", tmp_path / "a", 60, seed=3, image_size=(80, 120))
    b = write_mock_sample(tmp_path / "b.parquet", tmp_path / "b", 60, seed=3, image_size=(80, 120))
    pd.testing.assert_frame_equal(a, b)
    first = sorted((tmp_path / "a").iterdir())[0]
    assert first.read_bytes() == (tmp_path / "b" / first.name).read_bytes()
    catalog = catalog_from_ttypes(pd.read_parquet(tmp_path / "a.parquet"), tmp_path / "a")
    assert list(class_count_table(catalog, CLASS_NAMES)) == class_counts(60).tolist()
    sizes = {Image.open(p).size for p in catalog["image_path"]}
    assert len(sizes) > 5 and all(80 <= w <= 120 and w == h for w, h in sizes)
    assert all(Image.open(p).mode == "RGB" for p in catalog["image_path"][:5])


def test_mock_classes_look_different(tmp_path):
    """Spirals are bluer than ellipticals, as in SDSS colour images."""
    write_mock_sample(tmp_path / "c.parquet", tmp_path / "c", 200, seed=4, image_size=(80, 128))
    catalog = catalog_from_ttypes(pd.read_parquet(tmp_path / "c.parquet"), tmp_path / "c")

    def blueness(path):
        pixels = np.asarray(Image.open(path), dtype=float)
        bright = pixels.sum(-1) > np.percentile(pixels.sum(-1), 90)
        return pixels[bright][:, 2].mean() / pixels[bright][:, 0].mean()

    colour = catalog.assign(b=[blueness(p) for p in catalog["image_path"]]).groupby("class_name")["b"].mean()
    assert colour["spiral"] > colour["elliptical"]

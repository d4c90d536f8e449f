import hashlib

import numpy as np
import pytest

from galaxy_pretraining.data.splits import make_splits, rows_of

IDS = [f"J{i:05d}" for i in range(14034)]


@pytest.fixture(scope="module")
def splits():
    return make_splits(IDS, runs=[0, 1, 45], test_size=2034, seed=2023, validation_size=0)


def test_paper_split_sizes_and_disjointness(splits):
    for run in (0, 1, 45):
        train, test = rows_of(splits, run, "train"), rows_of(splits, run, "test")
        assert len(train) == 12000 and len(test) == 2034
        assert not set(train) & set(test)
        assert set(train) | set(test) == set(range(len(IDS)))


def test_runs_draw_different_test_sets(splits):
    assert set(rows_of(splits, 0, "test")) != set(rows_of(splits, 1, "test"))


def test_split_is_stable_forever(splits):
    # A released split must never change: this checksum pins run 0 and run 45 of seed 2023.
    digest = hashlib.sha256()
    for run in (0, 45):
        digest.update(",".join(map(str, rows_of(splits, run, "test"))).encode())
    assert digest.hexdigest() == PINNED


def test_split_does_not_depend_on_catalog_order():
    forward = make_splits(IDS[:500], runs=[3], test_size=50, seed=1, validation_size=0)
    backward = make_splits(IDS[:500][::-1], runs=[3], test_size=50, seed=1, validation_size=0)
    test_ids = lambda s: set(s.loc[s["subset"] == "test", "id"])  # noqa: E731
    assert test_ids(forward) == test_ids(backward)


def test_validation_is_carved_from_training():
    s = make_splits(IDS[:1000], runs=[0], test_size=100, seed=5, validation_size=150)
    assert len(rows_of(s, 0, "validation")) == 150
    assert len(rows_of(s, 0, "train")) == 750
    plain = make_splits(IDS[:1000], runs=[0], test_size=100, seed=5, validation_size=0)
    assert set(rows_of(s, 0, "test")) == set(rows_of(plain, 0, "test"))


def test_impossible_sizes_are_refused():
    with pytest.raises(ValueError, match="leaves no training"):
        make_splits(IDS[:100], runs=[0], test_size=100, seed=0, validation_size=0)
    with pytest.raises(ValueError, match="unique"):
        make_splits(["a", "a", "b"], runs=[0], test_size=1, seed=0, validation_size=0)


PINNED = "f59ff8ae36d4aa0cb554db83220eac4f9950d7cba8424b1c1d5860b036424ced"


def test_labelled_subsets_are_stratified_nested_and_drawn_from_the_training_rows_only():
    from galaxy_pretraining.data.splits import labelled_subset

    ids = np.array([f"g{i}" for i in range(1000)])
    labels = np.array([0] * 600 + [1] * 300 + [2] * 100)
    splits = make_splits(ids, [0, 1], test_size=200, seed=5, validation_size=0)
    train = rows_of(splits, 0, "train")
    kept = {f: labelled_subset(train, ids, labels, f, 5, 0) for f in (0.01, 0.1, 0.5, 1.0)}
    assert np.array_equal(kept[1.0], train)
    for f, rows in kept.items():
        assert set(rows) <= set(train)
        for label in range(3):
            n = (labels[train] == label).sum()
            assert (labels[rows] == label).sum() == max(1, int(f * n + 0.5)), (f, label)
    assert set(kept[0.01]) <= set(kept[0.1]) <= set(kept[0.5])
    assert labelled_subset(train, ids, labels, 0.1, 5, 0).tolist() == kept[0.1].tolist()  # stable
    other_run = labelled_subset(rows_of(splits, 1, "train"), ids, labels, 0.1, 5, 1)
    assert set(other_run) != set(kept[0.1])
    with pytest.raises(ValueError, match="training fraction"):
        labelled_subset(train, ids, labels, 0.0, 5, 0)


def _catalog(counts):
    """A catalog with counts[c] galaxies of class c (class names 'class0', ...)."""
    import pandas as pd

    labels = np.repeat(np.arange(len(counts)), counts)
    return pd.DataFrame({"id": [f"G{i:04d}" for i in range(len(labels))], "class_index": labels,
                         "class_name": [f"class{c}" for c in labels]})


SPLIT = {"test_size": 20, "validation_size": 0, "seed": 2023}


def test_a_test_set_of_one_class_is_refused_naming_run_and_class():
    from galaxy_pretraining.data.splits import study_splits
    from galaxy_pretraining.errors import BadData

    # One galaxy of class1 among 100, stratified: its test quota rounds to 0 and every test set is all class0,
    # which a network predicting class0 alone would score 100 % on.
    with pytest.raises(BadData, match=r"run 0: its test set holds no galaxy of class 'class1' \(1 galaxies"):
        study_splits(_catalog([99, 1]), [0, 1], {**SPLIT, "stratify": True})


def test_a_class_with_no_training_galaxy_is_logged_not_refused(caplog):
    from galaxy_pretraining.data.splits import study_splits

    # One galaxy of class2: find a random split that puts it in the test set, so no training galaxy is left.
    catalog = _catalog([30, 30, 1])
    unstratified = {**SPLIT, "stratify": False}
    runs = [r for r in range(200) if _all_in_test(catalog, r, unstratified)]
    assert runs, "no run put the single class2 galaxy in its test set"
    with caplog.at_level("WARNING"):
        study_splits(catalog, [runs[0]], unstratified)
    assert caplog.messages == [f"splits: run {runs[0]}'s train set holds no galaxy of class 'class2' (galaxies=1)"]


def _all_in_test(catalog, run, split):
    table = make_splits(catalog["id"], [run], split["test_size"], split["seed"], split["validation_size"])
    test = table.loc[table["subset"] == "test", "row"].to_numpy()
    return (catalog["class_index"].to_numpy()[test] == 2).any()


def test_a_class_missing_from_one_test_set_is_logged_not_refused(caplog):
    from galaxy_pretraining.data.splits import study_splits

    catalog = _catalog([50, 49, 1])
    with caplog.at_level("WARNING"):
        splits = study_splits(catalog, list(range(5)), {**SPLIT, "stratify": False})
    missing = [r for r in range(5) if not _all_in_test(catalog, r, {**SPLIT, "stratify": False})]
    assert len(splits) == 5 * 100 and missing
    assert sum("test set holds no galaxy of class 'class2'" in m for m in caplog.messages) == len(missing)

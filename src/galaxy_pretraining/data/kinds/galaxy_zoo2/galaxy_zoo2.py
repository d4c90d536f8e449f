"""Galaxy Zoo 2 as the Kaggle Galaxy Challenge serves it.

Also the clean five-class sample of Zhu et al. (2019).

The Kaggle training set is a folder with `training_solutions_rev1.csv` (a
`GalaxyID` column and 37 vote-fraction columns `Class1.1` ... `Class11.6`,
weighted down the decision tree) and `images_training_rev1/<GalaxyID>.jpg`
(424 x 424 colour JPEGs). It needs a Kaggle login, so the workflow reads it
from a local folder and never downloads it.

A clean sample is a set of cuts per class (config): a galaxy belongs to a
class when every one of its cuts holds (column >= minimum). The paper's Table
1 is the default. Cuts of two classes can both hold for one galaxy: such a
galaxy is ambiguous and is dropped and counted (`overlap: drop`), or is an
error (`overlap: error`). With Kaggle's weighted fractions the paper's cuts
hardly overlap: Class2.1 >= 0.602 or Class2.2 >= 0.715 needs Class1.2 at
least that high, which leaves Class1.1 below 0.469, so the smooth classes
and the disk classes exclude each other. Only a tie can overlap (Class7.1 =
Class7.2 = 0.5 with Class1.1 = 1). A selection of your own may overlap more.

Which fractions the cuts apply to (`fractions`): `weighted`, Kaggle's columns
as they are, or `conditional`, each answer divided by the answer that led to
its question (PARENT_ANSWER; Class7.1 / Class1.1, Class4.1 / Class2.2, ...).
On the weighted columns half of Table 1's cuts follow from the others
(Class7.1 + 7.2 + 7.3 = Class1.1, so Class7.x >= 0.5 gives Class1.1 >= 0.5;
Class2.2 >= 0.715 gives Class1.2 >= 0.715); thresholds of this form in the
Galaxy Zoo 2 literature are usually for conditional fractions. The paper does
not say which; only the real file's class counts can tell, so a count check
that fails names the reading it used and the other one to try.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from ...catalog import CatalogError, catalog_table
from .kaggle_files import SOLUTIONS_FILE

IMAGE_DIR = "images_training_rev1"
ID_COLUMN = "GalaxyID"
KAGGLE_PAGE = "https://www.kaggle.com/c/galaxy-zoo-the-galaxy-challenge/data"

log = logging.getLogger(__name__)


def missing_files_message(folder: os.PathLike) -> str:
    """What to do when the Kaggle files are not where the config says."""
    return (f"Galaxy Zoo 2 files not found in {folder}: it needs {SOLUTIONS_FILE} and {IMAGE_DIR}/<GalaxyID>.jpg. "
            f"They need a Kaggle login: download training_solutions_rev1.zip and images_training_rev1.zip from "
            f"{KAGGLE_PAGE}, unzip both into {folder}, or set data.galaxy_zoo2.path to where they are.")


def require_kaggle_files(folder: os.PathLike) -> None:
    """Raise, saying where to get them, unless the Kaggle solutions file is in `folder`."""
    if not (Path(folder) / SOLUTIONS_FILE).is_file():
        raise CatalogError(missing_files_message(folder))


def read_solutions(path: os.PathLike, columns: Sequence[str]) -> pd.DataFrame:
    """The vote fractions: GalaxyID and `columns`, each a number in [0, 1].

    An error names the row and column.
    """
    path = Path(path)
    if not path.is_file():
        raise CatalogError(missing_files_message(path.parent))
    table = pd.read_csv(path, dtype={ID_COLUMN: str})
    missing = [c for c in [ID_COLUMN, *columns] if c not in table.columns]
    if missing:
        raise CatalogError(f"{path}: no column {missing[0]!r} (of {len(table.columns)} columns: "
                           f"{list(table.columns[:4])}...); the Kaggle file has GalaxyID and Class1.1 ... Class11.6")
    for column in columns:
        values = pd.to_numeric(table[column], errors="coerce")
        bad = values.isna() | (values < 0) | (values > 1)
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0])
            raw = table[column].iloc[row]
            raise CatalogError(f"{path}: GalaxyID {table[ID_COLUMN].iloc[row]} (row {row + 2} of the file): {column} "
                               f"is {'empty' if pd.isna(raw) else raw}, not a fraction in [0, 1]")
        table[column] = values
    duplicated = table[ID_COLUMN][table[ID_COLUMN].duplicated()]
    if not duplicated.empty:
        raise CatalogError(f"{path}: GalaxyID {duplicated.iloc[0]} appears more than once")
    return table


def selection_columns(selection: Mapping[str, Sequence[Mapping]]) -> list[str]:
    """The vote-fraction columns a class selection's cuts read, sorted."""
    return sorted({cut["column"] for cuts in selection.values() for cut in cuts})


FRACTIONS = ("weighted", "conditional")  # data.galaxy_zoo2.fractions


def conditional_fractions(table: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    """`table` with each vote fraction of `columns` made conditional on the answer that led to it.

    `table` with each of `columns` (Kaggle's weighted vote fractions, floats in [0, 1]) turned conditional: divided
    by the answer that led to its question (PARENT_ANSWER); questions 1 and 6, asked of every galaxy, stay as they
    are. Where that answer is 0 (nobody reached the question) the fraction is 0; a quotient above 1 (the file's six-
    decimal rounding) is held at 1. The parent columns must be in `table`; other columns are left alone. Returns a
    copy.
    """
    out = table.copy()
    for column in columns:
        parent = PARENT_ANSWER.get(question_of(column))
        if parent is None:
            continue
        above = table[parent].to_numpy(dtype=float)
        values = table[column].to_numpy(dtype=float)
        out[column] = np.clip(np.divide(values, above, out=np.zeros_like(values), where=above > 0), 0.0, 1.0)
    return out


def question_of(column: str) -> int:
    """Class7.2 -> 7."""
    return int(column.removeprefix("Class").split(".")[0])


def parent_columns(columns: Sequence[str]) -> list[str]:
    """The answers that lead to the questions of `columns`: what conditional fractions also read."""
    return sorted({PARENT_ANSWER[question_of(c)] for c in columns if question_of(c) in PARENT_ANSWER})


def select_clean_sample(table: pd.DataFrame, selection: Mapping[str, Sequence[Mapping]], class_names: Sequence[str],
                        overlap: str) -> tuple[pd.DataFrame, dict]:
    """The rows meeting exactly one class's cuts, with their class index; and counts of what was left out.

    `selection`: class -> [{column, min}, ...]; every cut must hold (>=).
    """
    meets = pd.DataFrame({name: np.logical_and.reduce([table[cut["column"]].to_numpy() >= cut["min"]
                                                       for cut in selection[name]])
                          for name in class_names}, index=table.index)
    n_classes = meets.sum(axis=1)
    ambiguous = table.loc[n_classes > 1, ID_COLUMN]
    if overlap == "error" and not ambiguous.empty:
        first = ambiguous.iloc[0]
        raise CatalogError(f"{len(ambiguous)} galaxies meet the cuts of two classes, first GalaxyID {first} "
                           f"({', '.join(meets.columns[meets.loc[ambiguous.index[0]]])}); set "
                           "data.galaxy_zoo2.overlap: drop to leave them out")
    chosen = n_classes == 1
    sample = table.loc[chosen].copy()
    sample["class_index"] = meets.loc[chosen].to_numpy().argmax(axis=1)
    left_out = {"ambiguous": int((n_classes > 1).sum()), "in_no_class": int((n_classes == 0).sum())}
    return sample.reset_index(drop=True), left_out


def catalog_from_kaggle(folder: os.PathLike, selection: Mapping[str, Sequence[Mapping]], class_names: Sequence[str],
                        overlap: str, fractions: str) -> pd.DataFrame:
    """The labelled catalog of the clean sample: one row per selected galaxy.

    Each row's image is in the Kaggle folder.

    `fractions`: `weighted` (the cuts apply to Kaggle's columns) or `conditional` (to each answer divided by
    the answer that led to its question, conditional_fractions). Raises CatalogError naming the file, column,
    galaxy or image that is missing or wrong, and ValueError for another `fractions`.
    """
    if fractions not in FRACTIONS:
        raise ValueError(f"fractions {fractions!r}: use one of {FRACTIONS}")
    folder = Path(folder)
    columns = selection_columns(selection)
    table = read_solutions(folder / SOLUTIONS_FILE, sorted(set(columns) | set(parent_columns(columns))))
    if fractions == "conditional":
        table = conditional_fractions(table, columns)
    sample, left_out = select_clean_sample(table, selection, class_names, overlap)
    log.info("galaxy_zoo2: clean sample cut (galaxies=%d, kept=%d, fractions=%s, ambiguous=%d, in_no_class=%d)",
             len(table), len(sample), fractions, left_out["ambiguous"], left_out["in_no_class"])
    raw = sample.rename(columns={ID_COLUMN: "id"})
    paths = [folder / IMAGE_DIR / f"{galaxy}.jpg" for galaxy in raw["id"]]
    labels = pd.Series([class_names[c] for c in sample["class_index"]])
    return catalog_table(raw, labels, sample["class_index"].to_numpy(), paths, class_names)


# --- a mock in the Kaggle layout ---------------------------------------------------------------

QUESTIONS = {1: 3, 2: 2, 3: 2, 4: 2, 5: 4, 6: 2, 7: 3, 8: 7, 9: 3, 10: 3, 11: 6}  # answers of each question
SOLUTION_COLUMNS = [f"Class{q}.{a}" for q, n in QUESTIONS.items() for a in range(1, n + 1)]  # Kaggle's 37
# Each mock class is drawn as the Galaxy10 mock draws the same shape (galaxy10.render_mock_galaxy's classes).
MOCK_RENDER_CLASS = {0: 2, 1: 3, 2: 4, 3: 8, 4: 7}  # round, in-between, cigar smooth; edge-on; spiral
MOCK_CLASS_SHARES = np.array([8434, 8069, 578, 3903, 7806]) / 28790  # the paper's clean sample
MOCK_UNCLASSIFIED_SHARE = 0.2  # galaxies whose votes meet no class's cuts (left out by the selection)


def _split(rng: np.random.Generator, total: float, n: int, first: float | None = None) -> np.ndarray:
    """`total` shared among n answers; `first` (a share of total) given to answer 0 when set."""
    if first is None:
        return total * rng.dirichlet(np.ones(n))
    rest = total * (1 - first) * rng.dirichlet(np.ones(n - 1)) if n > 1 else np.zeros(0)
    return np.concatenate([[total * first], rest])


# Which answer each question's fractions add up to (Kaggle weights them down the decision tree); 1 and 6 are
# asked of every galaxy.
PARENT_ANSWER = {2: "Class1.2", 3: "Class2.2", 4: "Class2.2", 5: "Class2.2", 7: "Class1.1", 8: "Class6.1",
                 9: "Class2.1", 10: "Class4.1", 11: "Class4.1"}


def mock_votes(class_index: int | None, rng: np.random.Generator) -> dict[str, float]:
    """Mock vote fractions of one galaxy that meet the paper's cuts of `class_index`, or of no class.

    Vote fractions of one galaxy, weighted down the tree as Kaggle's are (each question's answers add up to the
    answer that led to it), meeting the paper's cuts (Table 1) of `class_index` by a margin, or (None) those of no
    class.
    """
    votes = dict.fromkeys(SOLUTION_COLUMNS, 0.0)

    def put(question, values):
        for answer, value in enumerate(values, start=1):
            votes[f"Class{question}.{answer}"] = float(value)

    if class_index in (0, 1, 2):  # smooth: Class1.1 high, the shape answer of question 7 >= 0.5 by a margin
        smooth = rng.uniform(0.75, 0.97)
        put(1, [smooth, *_split(rng, 1 - smooth, 2)])
        put(7, np.roll(_split(rng, smooth, 3, first=rng.uniform(0.75, 1.0)), class_index))
    elif class_index in (3, 4):  # disk: Class1.2 high; edge-on (2.1), or face-on (2.2) with arms (4.1)
        disk = rng.uniform(0.85, 0.98)
        smooth = rng.uniform(0, 1 - disk)
        put(1, [smooth, disk, 1 - disk - smooth])
        edge_on = disk * (rng.uniform(0.8, 1.0) if class_index == 3 else rng.uniform(0, 0.05))
        put(2, [edge_on, disk - edge_on])
        if class_index == 4:
            put(4, _split(rng, disk - edge_on, 2, first=rng.uniform(0.85, 1.0)))
    else:  # no class: smooth and features near even, no shape or disk answer strong enough
        smooth, disk = rng.uniform(0.4, 0.5, 2)
        put(1, [smooth, disk, 1 - smooth - disk])
        shares = 1 / 3 + rng.uniform(-0.05, 0.05, 3)
        put(7, smooth * shares / shares.sum())
        put(2, [disk * 0.5, disk * 0.5])
    odd = rng.uniform(0, 0.2)
    put(6, [odd, 1 - odd])
    for question, parent in PARENT_ANSWER.items():  # every question not set above: a random split of its parent
        columns = [f"Class{question}.{a}" for a in range(1, QUESTIONS[question] + 1)]
        if sum(votes[c] for c in columns) == 0 and votes[parent] > 0:
            put(question, _split(rng, votes[parent], len(columns)))
    return votes


def write_mock_kaggle(folder: os.PathLike, n_galaxies: int, seed: int = 0, image_size: int = 424) -> None:
    """A Kaggle Galaxy Challenge training folder of rendered galaxies.

    The solutions file (37 columns, weighted down the tree) and images_training_rev1/<GalaxyID>.jpg, each image the
    shape its votes select.

    Class shares follow the paper's clean sample (each class at least once); MOCK_UNCLASSIFIED_SHARE of the
    galaxies have votes that meet no class's cuts. The table is written last, under a temporary name.
    """
    from PIL import Image
    from tqdm import tqdm

    from ....io import atomic_path
    from ...synthetic import class_counts, observe, render_mock_galaxy

    folder = Path(folder)
    n_unclassified = int(round(n_galaxies * MOCK_UNCLASSIFIED_SHARE))
    n_classified = n_galaxies - n_unclassified
    if n_classified < len(MOCK_CLASS_SHARES):
        raise ValueError(f"a mock of {n_galaxies} galaxies leaves fewer than one per class")
    counts = np.maximum(class_counts(n_classified - len(MOCK_CLASS_SHARES), MOCK_CLASS_SHARES), 0) + 1
    rng = np.random.default_rng([seed, 20])
    classes = rng.permutation(np.concatenate([np.repeat(np.arange(5), counts), np.full(n_unclassified, -1)]))
    (folder / IMAGE_DIR).mkdir(parents=True, exist_ok=True)
    rows = []
    for i, class_index in enumerate(tqdm(classes, desc="mock Galaxy Zoo 2", unit="img")):
        galaxy_rng = np.random.default_rng([seed, 21, i])
        galaxy = str(100_000 + 7 * i)  # Kaggle's ids are six-digit numbers
        chosen = None if class_index < 0 else int(class_index)
        rows.append({ID_COLUMN: galaxy, **mock_votes(chosen, galaxy_rng)})
        shape = MOCK_RENDER_CLASS[chosen if chosen is not None else int(galaxy_rng.integers(5))]
        pixels = observe(render_mock_galaxy(shape, image_size, galaxy_rng), galaxy_rng)
        with atomic_path(folder / IMAGE_DIR / f"{galaxy}.jpg") as tmp:
            Image.fromarray(pixels).save(tmp, quality=90)
    with atomic_path(folder / SOLUTIONS_FILE) as tmp:
        pd.DataFrame(rows, columns=[ID_COLUMN, *SOLUTION_COLUMNS]).to_csv(tmp, index=False, float_format="%.6f")

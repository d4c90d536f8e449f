import pytest

from galaxy_pretraining.data.classes import (
    CLASS_NAMES,
    UnknownLabelError,
    classes_from_map,
    classes_from_ttypes,
    ttype_to_class,
)


@pytest.mark.parametrize(
    "ttype, name",
    [(-5, "elliptical"), (-3, "lenticular"), (-2, "lenticular"), (0, "lenticular"), (1, "spiral"),
     (9, "spiral"), (10, "irregular+misc"), (99, "irregular+misc"), (-5.0, "elliptical"), (4.0, "spiral")],
)
def test_paper_class_mapping(ttype, name):
    assert CLASS_NAMES[ttype_to_class(ttype)] == name


@pytest.mark.parametrize("ttype", [-4, -6, 11, 98, 100, 0.5, float("nan")])
def test_unknown_ttype_is_an_error_naming_the_value(ttype):
    with pytest.raises(UnknownLabelError, match="TType"):
        ttype_to_class(ttype)


def test_bad_ttype_error_names_the_galaxy():
    with pytest.raises(UnknownLabelError, match="galaxy J2"):
        classes_from_ttypes([-5, 1, -4], ids=["J0", "J1", "J2"])


def test_class_map_for_own_samples():
    class_map = {"elliptical": [0], "spiral": [1, 2, 3], "irregular+misc": [4, 5]}
    names = ["elliptical", "spiral", "irregular+misc"]
    assert classes_from_map([0, 3, "5", 1], class_map, names).tolist() == [0, 1, 2, 1]
    with pytest.raises(UnknownLabelError, match="galaxy b: label 7"):
        classes_from_map([0, 7], class_map, names, ids=["a", "b"])
    with pytest.raises(UnknownLabelError, match="unknown classes"):
        classes_from_map([0], {"lenticular": [0]}, names)

"""Galaxy10 DECaLS' ten classes and their published counts: plain data, read at parse time (no numpy)."""

# Class 0-9 of `ans`, in order; the names used in file names, tables and figure legends.
CLASS_NAMES = (
    "disturbed",
    "merging",
    "round_smooth",
    "in_between_round_smooth",
    "cigar_shaped_smooth",
    "barred_spiral",
    "unbarred_tight_spiral",
    "unbarred_loose_spiral",
    "edge_on_without_bulge",
    "edge_on_with_bulge",
)
# The real file's class counts (Galaxy10 DECaLS on Zenodo, record 10845026): 17,736 galaxies.
CLASS_COUNTS = (1081, 1853, 2645, 2027, 334, 2043, 1829, 2628, 1423, 1873)

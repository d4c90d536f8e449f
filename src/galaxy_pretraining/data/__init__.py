"""The data layer: catalogs, splits, the array store, downloads, synthetic galaxies, and one package per data kind (kinds/)."""

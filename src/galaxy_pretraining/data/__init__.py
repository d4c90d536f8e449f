"""The data layer: catalogs, splits, the array store, downloads and synthetic galaxies.

One package per data kind lives in kinds/.
"""

"""Models: the architecture registry, weights files, building, freezing, galaxy networks.

The registry is plain data, read at parse time; freezing acts on a network's first layers.
"""

"""Models: the architecture registry, weights files, building, freezing, galaxy networks.

Models: the architecture registry (plain data, read at parse time), weights files, building networks, freezing their
first layers, galaxy networks.
"""

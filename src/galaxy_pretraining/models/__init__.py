"""Models: the architecture registry (plain data, read at parse time), building networks and their weights, galaxy networks."""

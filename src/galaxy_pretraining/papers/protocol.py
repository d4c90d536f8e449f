"""What the paper modules share: whether a resolved config follows a paper's protocol."""

from __future__ import annotations

from collections.abc import Mapping


def differences(config: Mapping, protocol: Mapping) -> list[str]:
    """The keys where a resolved config leaves a protocol (empty: the config follows it).

    `protocol` maps a key path (a tuple of config keys, e.g. ("training", "batch_size")) to the value the
    paper used; a path missing from the config differs unless the wanted value is None. Returns the paths,
    dot-joined, in the protocol's order.
    """
    differences = []
    for path, wanted in protocol.items():
        value = config
        for key in path:
            value = value.get(key) if isinstance(value, Mapping) else None
        if value != wanted:
            differences.append(".".join(path))
    return differences

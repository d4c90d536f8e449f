"""An epoch of the paper's, Zhu et al.'s and Fu's protocols, with exactly the views training builds.

gpu_epoch.time_protocol: the configs' protocols through the engine's build_run / train_one_epoch / evaluate,
on synthetic images of each store's size. Writes protocol_epochs.csv after every protocol.
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

import pandas as pd
import torch

log = logging.getLogger(__name__)

NAME = "protocol-epochs"


def run(out: Path, device: torch.device, spec: dict, args, deadline: float) -> None:
    """Time each protocol's epoch while `deadline` allows; a protocol that fails is a row with its error."""
    from gpu_epoch import small_protocol, time_protocol

    rows = []
    for name in ("paper", "zhu", "fu"):
        if time.time() > deadline:
            log.info("%s: skipped, no time left (protocol=%s)", NAME, name)
            continue
        protocol = spec["protocols"][name]
        # Training compiles on CUDA (compile: auto); Zhu's and Fu's networks are timed eager here, since compiling
        # a wide ResNet or DenseNet-121 costs minutes of the call. Their views are the same either way (only the
        # paper's nearest-neighbour gather has a compiled form).
        options = (small_protocol(name, protocol) if args.small
                   else {"epochs": 2 if name == "paper" else 1, **({} if name == "paper" else {"compile": False})})
        try:
            rows.append({"protocol": name, **time_protocol(name, protocol, device, **options)})
        except Exception as error:  # one protocol failing (a missing package, memory) must not lose the others
            rows.append({"protocol": name, "error": f"{type(error).__name__}: {error}"[:500]})
        pd.DataFrame(rows).to_csv(out / "protocol_epochs.csv", index=False)
        log.info("%s: timed (%s)", NAME, json.dumps({k: v for k, v in rows[-1].items()
                                                     if k not in ("machine", "torch", "date")}))

"""The command: prepare the carry, or run the parts in order within the budget and archive the results."""

from __future__ import annotations

import argparse
import json
import logging
import math
import re
import shutil
import signal
import sys
import time
from pathlib import Path

import torch
from common import RESULTS, gpu_name, machine

from . import __doc__ as OVERVIEW
from . import packing, pretrained_vs_scratch, protocol_epochs, step_profile
from .limits import BUDGET_S, CALL_LIMIT_S, CARRY_LIMIT_MIB, TASK_LIMIT_S
from .predict import PREDICT

log = logging.getLogger("gpu_study")

CARRY = Path(__file__).resolve().parents[1] / "carry"
PARTS = {part.NAME: part for part in (pretrained_vs_scratch, protocol_epochs, step_profile)}  # in the order they run
RESERVE_S = {protocol_epochs.NAME: PREDICT["protocol_epochs_s"], step_profile.NAME: PREDICT["step_profile_s"]}


def slug(text: str) -> str:
    """`text` as a folder name: runs of other characters than letters, digits and '.' become '-'."""
    return re.sub(r"[^A-Za-z0-9.]+", "-", text).strip("-")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line (see --help)."""
    parser = argparse.ArgumentParser(prog="python benchmarks/gpu_study", description=OVERVIEW,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("action", nargs="?", choices=("run", "prepare"), default="run")
    parser.add_argument("--small", action="store_true", help="a CPU smoke test of every part (a few minutes on 2 cores)")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--carry", type=Path, help="the prepared folder (default benchmarks/carry; --small: a "
                        "folder of its own under the results)")
    parser.add_argument("--results", type=Path, help="default benchmarks/results/gpu_study-<gpu name>")
    parser.add_argument("--parts", default=",".join(PARTS), help=f"comma-separated, run in this order "
                        f"(default {','.join(PARTS)})")
    parser.add_argument("--budget-s", type=float, default=BUDGET_S,
                        help=f"wall seconds for the whole run (default {BUDGET_S}: the {CALL_LIMIT_S // 60}-minute "
                        f"call less start-up)")
    parser.add_argument("--runs", type=int, default=20, help="pretrained-vs-scratch: at most this many runs per arm")
    parser.add_argument("--min-runs", type=int, default=5,
                        help="pretrained-vs-scratch: runs per arm taken even past the deadline")
    parser.add_argument("--standin-epochs", type=int, default=pretrained_vs_scratch.STANDIN_EPOCHS,
                        help="pretrained-vs-scratch: epochs of the EfficientNet-Lite0 stand-in pair")
    parser.add_argument("--arms", help="pretrained-vs-scratch: these arms instead of the pair, e.g. alexnet-scratch "
                        "(the paper's scratch arm alone); names: {alexnet,efficientnet_lite0}-{scratch,imagenet}")
    parser.add_argument("--alexnet-weights", help="torchvision's alexnet-owt-7be5be79.pth, if the machine has it")
    parser.add_argument("--no-wheels", action="store_true", help="prepare: download no wheels")
    parser.add_argument("--archive", help="also write the results as DIR/gpu_study.tar.gz and DIR/log.txt")
    args = parser.parse_args(argv)
    unknown = [p for p in args.parts.split(",") if p not in PARTS]
    if unknown:
        parser.error(f"--parts: {unknown} unknown (parts: {', '.join(PARTS)})")
    return args


class _Elapsed(logging.Filter):
    """Stamps each record with the seconds since the command started."""

    def __init__(self, started: float):
        super().__init__()
        self.started = started

    def filter(self, record: logging.LogRecord) -> bool:
        record.elapsed = record.created - self.started
        return True


def _handler(handler: logging.Handler, started: float) -> logging.Handler:
    handler.addFilter(_Elapsed(started))
    handler.setFormatter(logging.Formatter("[%(elapsed)6.1f s] %(message)s"))
    log.addHandler(handler)
    return handler


def main(argv: list[str] | None = None) -> None:
    """Prepare the carry, or run the chosen parts and write timings.json (and the archive) even when stopped."""
    started = time.time()
    args = parse_args(argv)
    log.setLevel(logging.INFO)
    log.propagate = False
    _handler(logging.StreamHandler(sys.stdout), started)
    from galaxy_pretraining.training.device import choose_device

    device = choose_device(args.device)
    if args.small:
        args.runs = args.min_runs = 2
    out = args.results or RESULTS / f"gpu_study-{'small-' if args.small else ''}{slug(gpu_name(device))}"
    carry = args.carry or (out / "carry" if args.small else CARRY)
    if args.action == "prepare" or args.small and not (carry / "manifest.json").exists():
        packing.prepare(carry, args.small, wheels=not (args.small or args.no_wheels))
        if args.action == "prepare":
            return
    out.mkdir(parents=True, exist_ok=True)
    spec = json.loads((carry / "protocols.json").read_text())
    log_file = _handler(logging.FileHandler(out / "log.txt"), started)

    parts = args.parts.split(",")
    end = started + (math.inf if args.small else args.budget_s)  # --small: every part, however slow the CPU
    reserve = {name: 0.0 if args.small else seconds for name, seconds in RESERVE_S.items()}
    log.info("gpu_study: started (gpu=%s, machine=%r, torch=%s, budget_s=%.0f, call_limit_s=%d, task_limit_s=%d, "
             "carry_limit_mib=%.0f, parts=%s, carried=%s)", gpu_name(device), machine()["machine"], torch.__version__,
             args.budget_s, CALL_LIMIT_S, TASK_LIMIT_S, CARRY_LIMIT_MIB, ",".join(parts),
             json.dumps(json.loads((carry / "manifest.json").read_text()).get("pack", {})))
    timings, args.carry = {}, carry
    signal.signal(signal.SIGTERM, _stopped)  # `timeout` in gpu_study.sh: still archive what was measured
    try:
        for index, part in enumerate(parts):
            start = time.time()
            deadline = end - sum(reserve.get(later, 0.0) for later in parts[index + 1:])
            PARTS[part].run(out, device, spec, args, deadline)
            timings[part] = time.time() - start
            log.info("gpu_study: part done (part=%s, seconds=%.0f)", part, timings[part])
        log.info("gpu_study: done (seconds=%.0f, results=%s)", time.time() - started, out)
    finally:
        (out / "timings.json").write_text(json.dumps({"parts_s": timings, "total_s": time.time() - started,
                                                      "budget_s": args.budget_s, "gpu": gpu_name(device),
                                                      "predict": PREDICT, **machine()}, indent=1))
        log.removeHandler(log_file)
        log_file.close()
        if args.archive:
            archive(out, Path(args.archive))


def _stopped(signum, frame):
    raise SystemExit(128 + signum)


def archive(out: Path, target: Path) -> None:
    """The results folder as one .tar.gz and its log beside it (the device machine returns at most 8 files)."""
    import tarfile

    target.mkdir(parents=True, exist_ok=True)
    with tarfile.open(target / "gpu_study.tar.gz", "w:gz") as tar:
        tar.add(out, arcname=out.name, filter=lambda info: None if "/carry" in info.name else info)
    shutil.copyfile(out / "log.txt", target / "log.txt")

"""Host memory peak of a full-size training job (target <= 4 GB on a GPU node).

Writes a full-size array store (14,034 x 3 x 256 x 256 uint8, 2.8 GB) under a temporary
folder unless --store names one, then, in a fresh process, loads a 12,000 / 2,034 split onto
the device and takes --steps AlexNet training steps at batch 384; prints the peak resident
memory of that process (ru_maxrss). On the CPU the device IS host memory, so the data set's
2.8 GB count there; on CUDA only the chunks in transit do.

    .venv/bin/python benchmarks/host_memory.py [--device auto] [--steps 1]
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from common import log, log_to_stdout, machine, record, write_synthetic_store

CHILD = """
import json, resource, sys
import numpy as np, pandas as pd, torch
from galaxy_pretraining.models.build import build_model
sys.path.insert(0, sys.argv[4])
from common import bare_run, paper_settings
from galaxy_pretraining.training.data import load_data
from galaxy_pretraining.training.device import choose_device
from galaxy_pretraining.training.loop import train_one_epoch
store, steps, device = sys.argv[1], int(sys.argv[2]), choose_device(sys.argv[3])
n = np.load(store, mmap_mode="r").shape[0]
catalog = pd.DataFrame({"id": [f"g{i}" for i in range(n)], "class_index": np.arange(n) % 4})
data = load_data(store, catalog, {"test_size": 2034, "validation_size": 0, "seed": 2023}, 0, device)
after_load = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
s, on = paper_settings(device=str(device))
data.rows["train"] = data.rows["train"][: steps * s.batch_size]
model = build_model("alexnet", 4).to(device)
optimizer = torch.optim.SGD(model.parameters(), lr=0.001)
train_one_epoch(bare_run(s, on, data, model, optimizer, torch.Generator(device=device)), 1, progress=False)
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
print(json.dumps({"after_load_gb": after_load, "peak_gb": peak, "device": str(device)}))
"""


def main():
    """Measure the host memory of loading a full-size store and training on it, then record it."""
    log_to_stdout()
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--store", help="an existing full-size images.npy")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--steps", type=int, default=1)
    args = parser.parse_args()
    made = None if args.store else Path(tempfile.mkdtemp(prefix="bench-store-"))
    store = Path(args.store) if args.store else made / "images.npy"
    try:
        measure(store, args)
    finally:
        if made is not None:
            shutil.rmtree(made)


def measure(store: Path, args) -> None:
    """Run the measuring child on `store` (written first when missing) and record what it reports."""
    if not store.exists():
        write_synthetic_store(store)
    out = subprocess.run([sys.executable, "-c", CHILD, str(store), str(args.steps), args.device, str(Path(__file__).parent)], check=True,
                         capture_output=True, text=True)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    log.info("host_memory: measured (device=%s, after_load_gb=%.2f, peak_gb=%.2f, steps=%d, batch_size=384)",
             result["device"], result["after_load_gb"], result["peak_gb"], args.steps)
    record("host_memory", [{"benchmark": "host_memory", "variant": f"alexnet, {args.steps} step(s)",
                            "device": result["device"], "value": result["peak_gb"], "unit": "GB",
                            "after_load_gb": result["after_load_gb"], **machine()}])


if __name__ == "__main__":
    main()

"""Seconds per epoch of the paper's setup on a GPU, peak GPU memory, projected GPU-hours of the study.

AlexNet at 224 px, batch 384, 12,000 training and 2,034 test images (synthetic uint8 data of the
real size, held on the GPU), mixed precision and channels-last, the `paper` evaluation transform.
The study is 100 x 200 + 100 x 400 + 5 x 2 x 1,000 = 70,000 epochs (targets: <= 2 s per epoch on
an H100, <= 24 GPU-hours for the whole study).

    .venv/bin/python benchmarks/gpu_epoch.py [--epochs 3] [--architecture alexnet]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from common import machine, paper_settings, record

from galaxy_pretraining.models import build_model
from galaxy_pretraining.train import RunData, choose_device, evaluate, train_one_epoch

STUDY_EPOCHS = 100 * 200 + 100 * 400 + 5 * 2 * 1000


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--architecture", default="alexnet")
    parser.add_argument("--device", default="auto")
    args = parser.parse_args()
    device = choose_device(args.device)
    if device.type != "cuda":
        print(f"no CUDA device (found {device}): this benchmark measures GPU epochs")
    generator = torch.Generator(device=device).manual_seed(0)
    images = {s: torch.randint(0, 256, (n, 3, 256, 256), dtype=torch.uint8, device=device, generator=generator)
              for s, n in (("train", 12000), ("test", 2034))}
    labels = {s: torch.randint(0, 4, (len(x),), device=device, generator=generator) for s, x in images.items()}
    data = RunData(images, labels, {s: np.arange(len(x)) for s, x in images.items()})
    settings = paper_settings(architecture=args.architecture, epochs=args.epochs, device=str(device))
    torch.backends.cudnn.benchmark = True
    model = build_model(args.architecture, 4).to(device)
    if device.type == "cuda":
        model = model.to(memory_format=torch.channels_last)
        torch.cuda.reset_peak_memory_stats()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.001, momentum=0.9)
    seconds = []
    for epoch in range(args.epochs + 1):  # the first epoch warms up cudnn's autotuner
        if device.type == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        train_one_epoch(model, optimizer, data, settings, generator, device, progress=False)
        evaluate(model, data, "test", settings, generator, device)
        if device.type == "cuda":
            torch.cuda.synchronize()
        if epoch:
            seconds.append(time.perf_counter() - start)
    per_epoch = float(np.median(seconds))
    peak = torch.cuda.max_memory_allocated() / 2**30 if device.type == "cuda" else float("nan")
    hours = STUDY_EPOCHS * per_epoch / 3600
    print(f"{args.architecture} on {device}: {per_epoch:.2f} s per epoch (train 12,000 + test 2,034), "
          f"peak GPU memory {peak:.1f} GiB, whole study ({STUDY_EPOCHS:,} epochs) {hours:.1f} GPU-hours")
    record("gpu_epoch", [{"benchmark": "gpu_epoch", "variant": args.architecture, "device": str(device),
                          "value": per_epoch, "unit": "s/epoch", "peak_gpu_gib": peak, "study_gpu_hours": hours,
                          **machine()}])


if __name__ == "__main__":
    main()

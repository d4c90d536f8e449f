"""Training overhead: end-to-end training images/s over model-only images/s (target >= 0.9 on CPU).

End-to-end: train_one_epoch on the in-memory uint8 store (shuffle, gather, augment, step).
Model-only: the same model stepping on one pre-made augmented batch, nothing else.

    .venv/bin/python benchmarks/overhead.py [--architecture alexnet] [--images 768] [--device auto]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from common import bare_run, log, log_to_stdout, machine, paper_settings, record, sample_images

from galaxy_pretraining.data.array_store import load_image
from galaxy_pretraining.models.build import build_model
from galaxy_pretraining.training.data import RunData
from galaxy_pretraining.training.device import choose_device
from galaxy_pretraining.training.loop import optimizer_step, train_one_epoch


def sync(device):
    """Wait for the device's queued work (CUDA), so that a time covers it."""
    if device.type == "cuda":
        torch.cuda.synchronize()


def main():
    """Time the engine's epoch end to end against the model's steps alone, and record both."""
    log_to_stdout()
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--architecture", default="alexnet")
    parser.add_argument("--images", type=int, default=768)
    parser.add_argument("--batch-size", type=int, default=384)
    parser.add_argument("--device", default="auto")
    args = parser.parse_args()
    device = choose_device(args.device)
    store = torch.from_numpy(np.stack([load_image(p, 256) for p in sample_images(args.images)])).to(device)
    labels = torch.randint(0, 4, (len(store),), device=device)
    data = RunData(store, labels, {"train": torch.arange(len(store), device=device)})
    settings, on = paper_settings(architecture=args.architecture, batch_size=args.batch_size, device=str(device))
    model = build_model(args.architecture, 4).to(device)
    if device.type == "cuda":
        model = model.to(memory_format=torch.channels_last)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.001, momentum=0.9)
    generator = torch.Generator(device=device).manual_seed(0)
    run = bare_run(settings, on, data, model, optimizer, generator)  # config/config.yaml's views (eager)
    views = run.views

    train_one_epoch(run, 1, progress=False)  # warm-up
    sync(device)
    start = time.perf_counter()
    train_one_epoch(run, 2, progress=False)
    sync(device)
    end_to_end = len(store) / (time.perf_counter() - start)

    batch = views.train(store[: args.batch_size], generator)
    if device.type == "cuda":
        batch = batch.contiguous(memory_format=torch.channels_last)
    target = labels[: args.batch_size]
    steps = max(1, len(store) // args.batch_size)
    sync(device)
    start = time.perf_counter()
    for _ in range(steps):
        optimizer_step(model, optimizer, batch, target, settings.mixed_precision)
    sync(device)
    model_only = steps * args.batch_size / (time.perf_counter() - start)
    ratio = end_to_end / model_only
    log.info("overhead: timed (architecture=%s, device=%s, end_to_end_images_per_s=%.0f, model_only_images_per_s=%.0f, "
             "ratio=%.2f)", args.architecture, device, end_to_end, model_only, ratio)
    record("overhead", [{"benchmark": "overhead", "variant": args.architecture, "device": str(device),
                         "end_to_end_img_s": end_to_end, "model_only_img_s": model_only, "value": ratio,
                         "unit": "ratio", **machine()}])


if __name__ == "__main__":
    main()

"""Input pipeline: images/s of the batched on-device augmentation against the naive per-sample path.

Naive (the paper's code): PIL open -> ToTensor -> Resize(256) -> RandomCrop(224) -> flips ->
RandomRotation(180), one image at a time through a DataLoader. Batched (ours): the same
transform on uint8 batches from the array store. Same images, same run.

    .venv/bin/python benchmarks/input_pipeline.py [--images 768] [--workers 2] [--device auto]
"""

from __future__ import annotations

import argparse
import time

import torch
from common import log, log_to_stdout, machine, paper_settings, record, sample_images
from PIL import Image
from torch.utils.data import DataLoader, Dataset
from torchvision import transforms

from galaxy_pretraining.data.array_store import load_image
from galaxy_pretraining.training.device import choose_device
from galaxy_pretraining.training.views import Views

PAPER_TRANSFORM = transforms.Compose([
    transforms.ToTensor(), transforms.Resize((256, 256), antialias=True), transforms.RandomCrop(224),
    transforms.RandomHorizontalFlip(), transforms.RandomVerticalFlip(), transforms.RandomRotation(180),
])


class JpegDataset(Dataset):
    """The sample JPEGs through the paper's per-sample transform."""

    def __init__(self, paths):
        self.paths = paths

    def __len__(self):
        return len(self.paths)

    def __getitem__(self, i):
        with Image.open(self.paths[i]) as image:
            return PAPER_TRANSFORM(image.convert("RGB"))


def naive(paths, batch_size, workers):
    """Images/s of one pass of a per-sample DataLoader with the paper's PIL transform."""
    start = time.perf_counter()
    for _ in DataLoader(JpegDataset(paths), batch_size=batch_size, num_workers=workers, shuffle=True):
        pass
    return len(paths) / (time.perf_counter() - start)


def batched(paths, batch_size, device, repeats=3):
    """Images/s of the training view on uint8 batches on `device`, over `repeats` passes after a warm-up."""
    store = torch.from_numpy(__import__("numpy").stack([load_image(p, 256) for p in paths])).to(device)
    generator = torch.Generator(device=device).manual_seed(0)
    views = Views.from_settings(paper_settings(device=str(device))[0])  # config/config.yaml's training views
    views.train(store[:batch_size], generator)  # warm-up
    if device.type == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    for _ in range(repeats):
        order = torch.randperm(len(store), generator=generator, device=device)
        for first in range(0, len(store), batch_size):
            views.train(store[order[first:first + batch_size]], generator)
    if device.type == "cuda":
        torch.cuda.synchronize()
    return repeats * len(store) / (time.perf_counter() - start)


def main():
    """Time both input pipelines on the same images and record them."""
    log_to_stdout()
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=768)
    parser.add_argument("--batch-size", type=int, default=384)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--device", default="auto")
    args = parser.parse_args()
    device = choose_device(args.device)
    paths = sample_images(args.images)
    naive_rate = naive(paths, args.batch_size, args.workers)
    batched_rate = batched(paths, args.batch_size, device)
    log.info("input_pipeline: naive per-sample DataLoader timed (workers=%d, images_per_s=%.0f)", args.workers, naive_rate)
    log.info("input_pipeline: batched timed (device=%s, images_per_s=%.0f, speed_up=%.1f)", device, batched_rate,
             batched_rate / naive_rate)
    record("input_pipeline", [
        {"benchmark": "input_pipeline", "variant": f"naive DataLoader, {args.workers} workers", "device": "cpu",
         "value": naive_rate, "unit": "img/s", **machine()},
        {"benchmark": "input_pipeline", "variant": "batched uint8 on device", "device": str(device),
         "value": batched_rate, "unit": "img/s", **machine()},
    ])


if __name__ == "__main__":
    main()

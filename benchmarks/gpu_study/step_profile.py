"""The AlexNet training step of the paper's protocol: its top kernels, and MFU before and after each change.

Before: the engine as it trains (bf16 autocast, channels-last, fused SGD, cudnn.benchmark, torch.compile).
After: each change tried (CUDA graphs via mode="reduce-overhead", mode="max-autotune", batch 1024 for
throughput only), in the same process. Writes alexnet_step_mfu.csv, alexnet_step_profile.txt and
alexnet_step_top_kernels.csv.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from pathlib import Path

import pandas as pd
import torch
from common import gpu_name, machine

log = logging.getLogger(__name__)

NAME = "step-profile"
MAX_AUTOTUNE_NEEDS_S = 150  # its autotuning is slow: tried only with this much time left
VARIANT_NEEDS_S = 40


def run(out: Path, device: torch.device, spec: dict, args, deadline: float) -> None:
    """Time each variant of the AlexNet step that `deadline` allows, and profile the engine's."""
    from common import spec_of
    from gpu_epoch import bf16_peak, flops_per_image, sync

    from galaxy_pretraining.models.build import build_model
    from galaxy_pretraining.training.optim import create_optimizer

    settings, _ = spec_of(spec["protocols"]["paper"]["settings"], device=str(device))
    if args.small:
        settings = dataclasses.replace(settings, crop_size=64, batch_size=8)
    train_flops = flops_per_image(settings)[0]
    cuda = device.type == "cuda"
    if cuda:
        torch.backends.cudnn.benchmark = True  # as device.prepare_device (deterministic: false)
    base = settings.batch_size
    # (name, batch, torch.compile mode or None for eager, what it changes)
    variants = [("engine", base, "default" if cuda else None, "as training runs it (before)"),
                ("cuda_graphs", base, "reduce-overhead" if cuda else None, "CUDA graphs (mode=reduce-overhead)"),
                ("batch_1024", 1024 if not args.small else 2 * base, "default" if cuda else None,
                 "batch 1024: throughput only, not the protocol"),
                ("max_autotune", base, "max-autotune" if cuda else None, "mode=max-autotune (Triton templates, "
                 "CUDA graphs)")]
    steps = 3 if args.small else 30
    rows = []
    for name, batch_size, mode, what in variants:
        needs = MAX_AUTOTUNE_NEEDS_S if name == "max_autotune" and not args.small else VARIANT_NEEDS_S
        if time.time() + needs > deadline:
            log.info("%s: skipped, not enough time left (variant=%s, needs_s=%d)", NAME, name, needs)
            continue
        torch.manual_seed(0)
        model = build_model("alexnet", settings.n_classes).to(device)
        if cuda:
            model = model.to(memory_format=torch.channels_last)
        forward = torch.compile(model, mode=mode, dynamic=False) if mode else model
        optimizer = create_optimizer(list(model.parameters()), settings.optimizer, device)
        x = torch.rand(batch_size, 3, settings.crop_size, settings.crop_size, device=device)
        if cuda:
            x = x.contiguous(memory_format=torch.channels_last)
        y = torch.randint(0, settings.n_classes, (batch_size,), device=device)

        step = training_step(forward, optimizer, x, y, device, settings, mode in ("reduce-overhead", "max-autotune"))
        start = time.perf_counter()
        for _ in range(3 if mode else 1):
            step()
        sync(device)
        warmup = time.perf_counter() - start
        start = time.perf_counter()
        for _ in range(steps):
            step()
        sync(device)
        seconds = (time.perf_counter() - start) / steps
        rows.append({"variant": name, "change": what, "batch_size": batch_size, "compile_mode": mode or "eager",
                     "step_s": seconds, "images_per_s": batch_size / seconds,
                     "mfu": batch_size * train_flops / seconds / bf16_peak(device), "warmup_s": warmup,
                     "bf16_autocast": settings.mixed_precision and cuda, "channels_last": cuda,
                     "cudnn_benchmark": cuda, "gpu": gpu_name(device), **machine()})
        if name == "engine":
            profile_step(step, out, device)
        pd.DataFrame(rows).to_csv(out / "alexnet_step_mfu.csv", index=False)
        log.info("%s: timed (variant=%s, step_ms=%.2f, batch=%d, images_per_s=%.0f, mfu=%.1f%%, warmup_s=%.1f, "
                 "change=%r)", NAME, name, seconds * 1e3, batch_size, batch_size / seconds, 100 * rows[-1]["mfu"],
                 warmup, what)
        del step, forward, model, optimizer
        if cuda:
            torch.cuda.empty_cache()


def training_step(forward, optimizer, x, y, device, settings, graphs: bool):
    """One optimiser step of the engine's train_one_epoch (loop.optimizer_step) on a fixed batch, no transform.

    Returns:
        A function of no arguments that takes the step.
    """
    from galaxy_pretraining.training.loop import optimizer_step

    def step():
        if graphs:
            torch.compiler.cudagraph_mark_step_begin()
        optimizer_step(forward, optimizer, x, y, settings.mixed_precision)

    return step


def profile_step(step, out: Path, device: torch.device) -> None:
    """torch.profiler over 5 steps: operators and kernels by device (or CPU) time, top 25, as text and CSV."""
    from torch.profiler import ProfilerActivity, profile

    cuda = device.type == "cuda"
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if cuda else [])
    with profile(activities=activities) as prof:
        for _ in range(5):
            step()
        if cuda:
            torch.cuda.synchronize()
    try:  # torch >= 2.4 names it device time; older, cuda time
        text = prof.key_averages().table(sort_by="self_device_time_total" if cuda else "self_cpu_time_total",
                                         row_limit=25)
    except (AttributeError, KeyError, ValueError):
        text = prof.key_averages().table(sort_by="self_cuda_time_total", row_limit=25)
    (out / "alexnet_step_profile.txt").write_text(text)
    rows = []
    for event in prof.key_averages():
        device_us = getattr(event, "self_device_time_total", getattr(event, "self_cuda_time_total", 0.0))
        rows.append({"name": event.key[:200], "calls": event.count, "self_device_us": device_us,
                     "self_cpu_us": event.self_cpu_time_total})
    column = "self_device_us" if cuda else "self_cpu_us"
    table = pd.DataFrame(rows).sort_values(column, ascending=False)
    table["share"] = table[column] / max(table[column].sum(), 1e-9)
    table.head(25).to_csv(out / "alexnet_step_top_kernels.csv", index=False)
    log.info("%s: profiled (steps=5, file=alexnet_step_top_kernels.csv)", NAME)
    print("top kernels of 5 engine steps\n" + table.head(10).to_markdown(index=False, floatfmt=".3g"), flush=True)  # noqa: T201 (the result table is the output)

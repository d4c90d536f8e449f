"""The device a job computes on.

Its choice, its settings for the run's protocol, compiling and bf16 autocast.
"""

from __future__ import annotations

import logging
import os

import torch

from .spec import Machine, Protocol

log = logging.getLogger(__name__)


def choose_device(requested: str) -> torch.device:
    """The device `training.device` names; `auto`: cuda, then mps, then cpu.

    Raises:
        RuntimeError: CUDA was asked for but no CUDA device is available.
    """
    if requested == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    device = torch.device(requested)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("device 'cuda' was requested but no CUDA device is available")
    return device


def prepare_device(protocol: Protocol, machine: Machine) -> torch.device:
    """The job's device, with torch's threads and determinism set for the protocol (before CUDA starts)."""
    if machine.threads:
        torch.set_num_threads(machine.threads)
    if protocol.deterministic:
        # cuBLAS needs a fixed workspace to be deterministic; must be set before CUDA starts.
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    device = choose_device(machine.device)
    torch.use_deterministic_algorithms(protocol.deterministic, warn_only=False)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = not protocol.deterministic
    return device


def compiling(machine: Machine, device: torch.device) -> bool:
    """Whether `training.compile` asks for torch.compile here (auto: on CUDA only)."""
    return machine.compile if isinstance(machine.compile, bool) else device.type == "cuda"


def compiled(model: torch.nn.Module, machine: Machine, device: torch.device) -> torch.nn.Module:
    """The model as the loop calls it: torch.compile'd when `compiling`, else the model itself."""
    # dynamic=False: one static graph per batch shape (the last, shorter batch gets its own). With dynamic
    # shapes, torch 2.11's inductor failed a stride check in ResNet-18's channels-last backward on an H100.
    return torch.compile(model, dynamic=False) if compiling(machine, device) else model


def autocasting(device: torch.device, mixed_precision: bool) -> bool:
    """Whether a run computes in bfloat16: training.mixed_precision, on CUDA."""
    return mixed_precision and device.type == "cuda"


def autocast(device: torch.device, mixed_precision: bool):
    """bfloat16 autocast on CUDA when training.mixed_precision; a no-op context elsewhere."""
    return torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=autocasting(device, mixed_precision))

"""What a run's epochs cost on the device it ran on.

The device's name, its peak memory per epoch and its mean utilisation per epoch (NVML, through the nvidia-ml-py
binding, where it is installed), plus the torch, CUDA and cuDNN versions the job ran with.

On a CPU, or where NVML cannot be read, the numbers are NaN and
`DeviceMonitor.unavailable` says why, so a record is never blank without a reason.
"""

from __future__ import annotations

import importlib.util
import logging
import platform
import threading

import torch

log = logging.getLogger(__name__)

# Seconds between NVML utilisation reads (NVML itself averages over its own sample period, 1/6 s to 1 s).
SAMPLE_SECONDS = 1.0
NVML_PACKAGE = "nvidia-ml-py"


def device_name(device: torch.device) -> str:
    """The device's name as the tables show it.

    The GPU's model (e.g. "NVIDIA H100 80GB HBM3"), or "cpu (<machine>, <n> threads)", or "mps".
    """
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    if device.type == "cpu":
        return f"cpu ({platform.machine() or 'unknown machine'}, {torch.get_num_threads()} threads)"
    return device.type


def library_versions() -> dict[str, str]:
    """torch, CUDA and cuDNN versions of this process (CUDA and cuDNN say when this torch has none)."""
    cudnn = torch.backends.cudnn.version() if torch.backends.cudnn.is_available() else None
    return {"torch_version": torch.__version__,
            "cuda_version": torch.version.cuda or "none (a torch built without CUDA)",
            "cudnn_version": str(cudnn) if cudnn else "none (cuDNN not available)"}


class DeviceMonitor:
    """Peak device memory and mean GPU utilisation, epoch by epoch (`epoch_stats`), for one job's device.

    On CUDA a daemon thread reads the GPU's utilisation through NVML every
    SAMPLE_SECONDS; `close` stops it. `unavailable` maps each field that cannot
    be measured (peak_memory_gb, gpu_utilisation) to the reason.
    """

    def __init__(self, device: torch.device):
        self.device = device
        self.name = device_name(device)
        self.unavailable: dict[str, str] = {}
        self._samples: list[float] = []
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        self._thread = None
        if device.type != "cuda":
            self.unavailable["peak_memory_gb"] = f"unavailable: the device is {device.type}, not a CUDA GPU"
            self.unavailable["gpu_utilisation"] = f"unavailable: the device is {device.type}, not a CUDA GPU"
            return
        torch.cuda.reset_peak_memory_stats(device)
        handle = self._nvml_handle()
        if handle is not None:
            self._thread = threading.Thread(target=self._sample, args=(handle,), name="nvml-utilisation",
                                            daemon=True)
            self._thread.start()

    def _nvml_handle(self):
        if importlib.util.find_spec("pynvml") is None:
            self.unavailable["gpu_utilisation"] = f"unavailable: the {NVML_PACKAGE} package (pynvml) is not installed"
            return None
        import pynvml

        try:
            pynvml.nvmlInit()
            # By UUID: CUDA's device index need not be NVML's (CUDA_VISIBLE_DEVICES, a SLURM job's GPUs).
            uuid = str(torch.cuda.get_device_properties(self.device).uuid)
            return pynvml.nvmlDeviceGetHandleByUUID(uuid if uuid.startswith(("GPU-", "MIG-")) else f"GPU-{uuid}")
        except pynvml.NVMLError as error:
            self.unavailable["gpu_utilisation"] = f"unavailable: NVML could not be read ({error})"
            return None

    def _sample(self, handle) -> None:
        import pynvml

        while not self._stopped.wait(SAMPLE_SECONDS):
            try:
                value = float(pynvml.nvmlDeviceGetUtilizationRates(handle).gpu)
            except pynvml.NVMLError as error:
                self.unavailable["gpu_utilisation"] = f"unavailable: NVML stopped answering ({error})"
                log.warning("device monitor: NVML read failed (device=%s, error=%s)", self.name, error)
                return
            with self._lock:
                self._samples.append(value)

    def epoch_stats(self) -> dict[str, float]:
        """{peak_memory_gb, gpu_utilisation} since the last call (NaN where unavailable); resets both."""
        stats = {"peak_memory_gb": float("nan"), "gpu_utilisation": float("nan")}
        if self.device.type == "cuda":
            stats["peak_memory_gb"] = torch.cuda.max_memory_allocated(self.device) / 1e9
            torch.cuda.reset_peak_memory_stats(self.device)
        with self._lock:
            samples, self._samples = self._samples, []
        if samples and "gpu_utilisation" not in self.unavailable:
            stats["gpu_utilisation"] = sum(samples) / len(samples)
        return stats

    def close(self) -> None:
        """Stop the NVML thread (if any)."""
        self._stopped.set()
        if self._thread is not None:
            self._thread.join(timeout=2 * SAMPLE_SECONDS)


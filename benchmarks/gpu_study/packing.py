"""What travels to the GPU machine: gz1-sdss packed as JPEGs, the protocols' settings, weights and wheels.

`prepare` fills benchmarks/carry/ (git-ignored; its manifest.json says what and how large) within what the
carry limit (limits.CARRY_LIMIT_MIB) leaves beside the working tree: the gz1-sdss images as the array store
would hold them (256 px, bilinear) re-encoded as JPEG, the protocols' settings as JSON (built here by
study.settings.protocol from the configs, so the GPU machine needs neither the configs' schema check nor
jsonschema), the EfficientNet-Lite0 weights and wheels of the packages the machine lacks.
"""

from __future__ import annotations

import io
import json
import logging
import os
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
from common import ROOT, machine

from .limits import CARRY_LIMIT_MIB, CARRY_SLACK_MIB

log = logging.getLogger(__name__)

GZ1 = ROOT.parent / "shared" / "data" / "gz1-sdss"
PACK_QUALITIES = (85, 80, 75, 70, 65, 60)  # the best JPEG quality whose pack fits what the limit leaves
GZ1_TEST = 1000  # test galaxies of each run's split (config/gz1-sdss.yaml)
WHEELS = ("kornia==0.9.0", "kornia_rs==0.2.0", "efficientnet-lite-pytorch==0.1.0")  # absent on the device machine


def gz1_classes() -> tuple[list[str], dict[int, int]]:
    """config/gz1-sdss.yaml's classes and its class_map, as GZ1 label -> class index."""
    import yaml

    config = yaml.safe_load((ROOT / "config/gz1-sdss.yaml").read_text())
    classes = list(config["classes"])
    mapping = {label: classes.index(name) for name, labels in config["data"]["folder"]["class_map"].items()
               for label in labels}
    return classes, mapping


def encode(pixels: np.ndarray, quality: int) -> bytes:
    """One 3 x S x S uint8 image as JPEG bytes at `quality`."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(pixels.transpose(1, 2, 0))).save(buffer, "JPEG", quality=quality)
    return buffer.getvalue()


def pack_gz1(target: Path, size: int, limit_bytes: float, n: int | None = None, threads: int = 2) -> dict:
    """gz1-sdss as one .npz of JPEGs, their class indices and OBJIDs, within `limit_bytes`.

    Each image is what the array store holds (array_store.load_image: the whole cutout resized bilinearly to
    size x size), re-encoded at the best quality of PACK_QUALITIES whose pack fits (judged on every 20th image).

    Returns:
        The pack's manifest entry: file, images, size, jpeg_quality, bytes, RMSE against the store's pixels,
        classes and class counts.
    """
    from galaxy_pretraining.data.array_store import load_image

    classes, mapping = gz1_classes()
    labels = pd.read_csv(GZ1 / "labels.csv")
    if n is not None:
        labels = labels.groupby("CLASS", group_keys=False).head(max(2, n // 6)).head(n)
    paths = [GZ1 / "images" / f"{objid}.jpeg" for objid in labels["OBJID"]]
    with ThreadPoolExecutor(threads) as pool:
        pixels = list(pool.map(lambda p: load_image(p, size), paths))
    sample = pixels[::20]
    for quality in PACK_QUALITIES:
        if sum(len(encode(p, quality)) for p in sample) * len(pixels) / len(sample) < 0.97 * limit_bytes:
            break
    with ThreadPoolExecutor(threads) as pool:
        encoded = list(pool.map(lambda p: encode(p, quality), pixels))
    offsets = np.cumsum([0] + [len(e) for e in encoded])
    np.savez(target, data=np.frombuffer(b"".join(encoded), dtype=np.uint8), offsets=offsets,
             class_index=labels["CLASS"].map(mapping).to_numpy(np.int64),
             objid=labels["OBJID"].to_numpy(np.int64))
    decoded = decode_pack(target, threads)[0]
    rmse = float(np.sqrt(np.mean([(decoded[i].astype(float) - pixels[i]) ** 2 for i in range(0, len(pixels), 20)])))
    return {"file": target.name, "images": len(pixels), "size": size, "jpeg_quality": quality,
            "bytes": target.stat().st_size, "rmse_grey_levels_vs_store": rmse, "classes": classes,
            "class_counts": np.bincount(labels["CLASS"].map(mapping), minlength=len(classes)).tolist()}


def decode_pack(path: Path, threads: int = 16) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The pack's images (N x 3 x S x S uint8), class indices and OBJIDs."""
    from PIL import Image

    pack = np.load(path)
    data, offsets = pack["data"], pack["offsets"]

    def one(i):
        image = Image.open(io.BytesIO(data[offsets[i]:offsets[i + 1]].tobytes())).convert("RGB")
        return np.asarray(image).transpose(2, 0, 1)

    with ThreadPoolExecutor(threads) as pool:
        images = np.stack(list(pool.map(one, range(len(offsets) - 1))))
    return images, pack["class_index"], pack["objid"]


def gz1_arms(classes: list[str]) -> dict:
    """The protocols (as params) of the four pretrained-against-scratch arms, each at 200 epochs.

    config/config.yaml (the paper's protocol) with gz1-sdss's classes and a split of GZ1_TEST test galaxies,
    built by study.settings.protocol.
    """
    import copy

    from galaxy_pretraining.config import load_config
    from galaxy_pretraining.study import TrainingJob
    from galaxy_pretraining.study.settings import protocol as job_protocol

    config = copy.deepcopy(load_config(ROOT / "config/config.yaml"))
    config["classes"] = classes
    config["splits"].update(test_size=GZ1_TEST, validation_size=0)
    config["models"] = {f"{architecture}-{arm}": {"architecture": architecture, "weights": weights,
                                                 "epochs": 200, "frozen_share": 0.0, "dropout": None}
                        for architecture in ("alexnet", "efficientnet_lite0")
                        for arm, weights in (("scratch", "none"), ("imagenet", "imagenet"))}
    return {name: job_protocol(config, TrainingJob(name, 0, 200, False, 1.0)).params()
            for name in config["models"]}


def lite0_weights() -> Path:
    """The installed EfficientNet-Lite0 ImageNet weights file (the registry names its package and path)."""
    import importlib.util

    from galaxy_pretraining.models.registry import ARCHITECTURES

    spec = ARCHITECTURES["efficientnet_lite0"]
    return Path(importlib.util.find_spec(spec.weights_package).origin).parent / spec.weights_package_path


def download_wheels(folder: Path) -> list[str]:
    """Wheels of WHEELS for the device machine's Python 3.12; [] when pip cannot reach them."""
    folder.mkdir(parents=True, exist_ok=True)
    platforms = [f"--platform={p}" for p in ("manylinux_2_28_x86_64", "manylinux_2_17_x86_64", "manylinux2014_x86_64")]
    out = subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:",
                          "--python-version", "3.12", "--implementation", "cp", *platforms, "-d", str(folder),
                          *WHEELS], capture_output=True, text=True)
    if out.returncode:
        log.warning("packing: wheels not downloaded, the GPU machine then needs kornia and efficientnet-lite-pytorch "
                    "(pip=%r)", out.stderr[-1500:])
    return sorted(p.name for p in folder.glob("*.whl"))


def tree_bytes() -> int:
    """What git sends of the working tree: tracked files and untracked ones it does not ignore."""
    names = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=ROOT, capture_output=True,
                           text=True).stdout.split("\0")
    return sum((ROOT / n).stat().st_size for n in names if n and (ROOT / n).is_file())


def prepare(carry: Path, small: bool = False, wheels: bool = True) -> dict:
    """Fill `carry` with what the GPU machine needs; small: a pack of 48 images of 72 px.

    Returns:
        The manifest written to carry/manifest.json.
    """
    from gpu_epoch import PROTOCOLS, protocol_settings

    if not (GZ1 / "labels.csv").exists():
        raise SystemExit(f"{GZ1} is not here: `prepare` packs its images (see its README)")
    carry.mkdir(parents=True, exist_ok=True)
    classes, _ = gz1_classes()
    protocols = {name: protocol_settings(name) for name in PROTOCOLS}
    (carry / "protocols.json").write_text(json.dumps({"protocols": protocols, "gz1_arms": gz1_arms(classes)},
                                                     indent=1))
    weights = carry / lite0_weights().name
    shutil.copyfile(lite0_weights(), weights)
    wheel_names = download_wheels(carry / "wheels") if wheels else []
    fixed = tree_bytes() + sum(p.stat().st_size for p in carry.rglob("*") if p.is_file() and p.suffix != ".npz")
    budget = (CARRY_LIMIT_MIB - CARRY_SLACK_MIB) * 2**20 - fixed
    pack = pack_gz1(carry / "gz1-sdss.npz", 72 if small else 256, budget, 48 if small else None,
                    threads=min(4, os.cpu_count() or 1))
    total = fixed + pack["bytes"]
    manifest = {"made": machine()["date"], "pack": pack, "lite0_weights": {"file": weights.name,
                                                                          "bytes": weights.stat().st_size},
                "wheels": wheel_names, "working_tree_bytes": tree_bytes(), "carried_mib": total / 2**20,
                "limit_mib": CARRY_LIMIT_MIB}
    (carry / "manifest.json").write_text(json.dumps(manifest, indent=1))
    log.info("packing: done (carry=%s, carried_mib=%.1f, limit_mib=%.0f, images=%d, size=%d, jpeg_quality=%d, "
             "pack_mib=%.1f, rmse_grey_levels=%.2f)", carry, total / 2**20, CARRY_LIMIT_MIB, pack["images"],
             pack["size"], pack["jpeg_quality"], pack["bytes"] / 2**20, pack["rmse_grey_levels_vs_store"])
    return manifest

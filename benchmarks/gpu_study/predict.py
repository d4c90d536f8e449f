"""Predicted seconds: what plans the pretrained-against-scratch runs and reserves time for the later parts.

From the H100 measurement of docs/benchmarks.md (AlexNet, paper's protocol: 0.317 s to train 12,000 images,
0.022 s to test 2,034; a cold job's start-up 76-84 s), and guesses where nothing was measured (said so below).
"""

PREDICT = {
    "alexnet_train_image_s": 0.317 / 12000, "alexnet_test_image_s": 0.022 / 2034,
    "epoch_overhead_s": 0.02,  # reading the epoch's loss and accuracy, the best epoch's state and predictions
    "run_end_s": 3.0,  # last.pt (0.73 GB for AlexNet) and the tables at the end of a run
    "compile_s": 60.0,  # the first run of an architecture: compiling both batch shapes, autotuning
    "lite0_train_image_s": 1 / 8000, "lite0_test_image_s": 1 / 25000,  # a guess: never measured here
    "protocol_epochs_s": 110.0,  # a guess: the paper's compile plus Zhu's and Fu's eager epochs
    "step_profile_s": 100.0,  # a guess: three compiles of the AlexNet step
}

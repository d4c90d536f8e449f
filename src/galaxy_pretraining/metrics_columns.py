"""The column names of a run's metrics table (metrics.parquet).

Training writes them and analysis reads them.

No torch: the analysis imports it without the training engine.
"""

from __future__ import annotations

EPOCH = "epoch"
TRAIN_LOSS = "train_loss"
TRAIN_ACCURACY = "train_accuracy"
TEST_LOSS = "test_loss"
TEST_ACCURACY = "test_accuracy"
TEST_CONFUSION = "test_confusion"  # per epoch, the test confusion matrix as nested lists (rows true, columns predicted)
VALIDATION_LOSS = "validation_loss"
VALIDATION_ACCURACY = "validation_accuracy"
ITERATIONS = "iterations"
LEARNING_RATE = "learning_rate"
SECONDS = "seconds"
TRAIN_SECONDS = "train_seconds"
IMAGES_PER_SECOND = "images_per_second"
EVAL_SECONDS = "eval_seconds"  # the epoch's evaluation (test, validation), inside SECONDS
# what the attempt that trained the epoch ran on (training.accounting, training.live)
ATTEMPT = "attempt"
DEVICE = "device"
PEAK_MEMORY_GB = "peak_memory_gb"
GPU_UTILISATION = "gpu_utilisation"
DIVERGED = "diverged"  # True on the row of the epoch a diverged run stopped in
RUN = "run"

SIDE_ACCURACY_PREFIX = "test_accuracy_side"


def side_accuracy_column(side: int) -> str:
    """The column of the test accuracy at one scale_jitter test side: `test_accuracy_side<side>`."""
    return f"{SIDE_ACCURACY_PREFIX}{side}"


def is_side_accuracy_column(column: str) -> bool:
    """Whether `column` holds the test accuracy at one test side (`side_accuracy_column`)."""
    return column.startswith(SIDE_ACCURACY_PREFIX)


def side_of_column(column: str) -> int:
    """The test side of a `side_accuracy_column`."""
    return int(column.removeprefix(SIDE_ACCURACY_PREFIX))

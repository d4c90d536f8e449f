"""Training: a run's settings (settings), the augmentation's tensor operations (augment) and the views built
once from the settings (views), stopping on a signal (stopping), a run's state on the device (state), its
checkpoints (checkpoints), the loop (loop), and building and training runs and groups of runs (run)."""

"""Training: its settings, the augmentation, stopping on a signal, and the training loop (train)."""

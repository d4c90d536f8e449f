"""Training, one module per concept.

From the bottom: the run spec (spec), the augmentation's tensor operations (augment) and stopping on a signal
(stopping); the views built once per run (views), the run's data (data), the device (device), the optimiser and
schedule (optim); the run and its best epoch (run); its checkpoints (checkpoints); the loop (loop); and a job's
group of runs (job).
"""

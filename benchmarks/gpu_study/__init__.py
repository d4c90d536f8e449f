"""The GPU study of issue 26 in one command, for a GPU node that may have no network and no project venv.

    python benchmarks/gpu_study prepare    # here, beside ../shared/data/gz1-sdss: fills benchmarks/carry/
    bash benchmarks/gpu_study.sh           # there: every part within --budget-s seconds (limits.BUDGET_S)
    python benchmarks/gpu_study --small    # every part on the CPU, small: a few minutes (tests/e2e/test_gpu_study.py)

Modules, in the order the command uses them (the parts run in this order; each names what it measures):

- `packing` (`prepare`): what travels to the GPU machine, within the carry limit of `limits`;
- `pretrained_vs_scratch` (part pretrained-vs-scratch): the paper's protocol on the 6,664 real SDSS galaxies
  of gz1-sdss, a pretrained arm against scratch in pairs of runs, a sign test, a figure;
- `protocol_epochs` (part protocol-epochs): an epoch of the paper's, Zhu et al.'s and Fu's protocols with
  the views training builds;
- `step_profile` (part step-profile): the AlexNet training step's top kernels, and MFU before and after each
  change tried;
- `limits` (the GPU machine's limits: carry, call, task), `predict` (predicted seconds), `cli` (the command).

Everything is written to benchmarks/results/gpu_study-<gpu name>/ (--results), tables after every run, so a
cut-short call keeps what it measured.
"""

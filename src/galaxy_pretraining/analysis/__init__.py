"""Tables derived only from the runs' outputs: pure functions, unit-tested, that know no paper.

- `curves`: the per-epoch curves and what is read off them (peaks within a
  budget, the budget table, long runs, test sides, the last epoch of
  partially frozen models);
- `per_class`: confusion matrices and per-class metrics at each run's best epoch;
- `pairs`: pretrained against scratch, paired per run, and sign tests;
- `label_budgets`: accuracy against the number of labelled galaxies;
- `roc`: best-epoch probabilities, ROC curves and AUC.

Layers, lowest first: `curves`; `pairs`, `per_class` and `roc`; `label_budgets`
(pyproject.toml, contract analysis-layers). A paper's published numbers go
beside these tables in `papers/`, which imports this package, never the reverse.
"""

"""The library of the galaxy-pretraining workflow: data, models, training, analysis, papers, figures."""

"""Prediction sets: the study's trained arms applied to galaxies it never saw (config key `predict`).

`sets` is parse-time (which runs a set uses, its paths, its checks), `catalog`
builds a set's catalog and array store as training's are built, `ensemble`
runs the best weights over the views (torch).
"""

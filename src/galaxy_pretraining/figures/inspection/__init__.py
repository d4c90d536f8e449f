"""Figures of each model's best epoch in one run.

Grad-CAM heatmaps, and first-layer filters and feature maps.
"""

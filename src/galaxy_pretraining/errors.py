"""Failures that a retry cannot fix: the same job on the same inputs would meet them again."""

from __future__ import annotations


class NotRetryable(Exception):
    """A failure of the inputs, the config or the run itself (bad data, divergence, a full disk), not an interruption.

    A job that stops with one records it, so that Snakemake's next attempt of the same job fails at once with
    the same message instead of paying for the same failure again.
    """


class NoSpaceLeft(NotRetryable, OSError):
    """A write that does not fit: a full disk or quota, or a file over the file size limit."""

"""Store building: seconds per 1,000 images of write_array_store (decode, bring to 8-bit RGB, resize, write).

On the real SDSS JPEGs of gz1-sdss when present (otherwise mock cutouts made
here), at the paper's store size (256), best of `--repeats` runs.

    .venv/bin/python benchmarks/array_store.py [--images 2000] [--threads 4] [--size 256] [--repeats 3]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from common import log, log_to_stdout, machine, record, sample_images

from galaxy_pretraining.data.array_store import write_array_store


def main():
    """Time write_array_store on the sample images and record the best run."""
    log_to_stdout()
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=2000)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--label", default="", help="a note stored with the result (e.g. the commit measured)")
    args = parser.parse_args()
    paths = sample_images(args.images)
    times = []
    with tempfile.TemporaryDirectory() as folder:
        for _ in range(args.repeats):
            start = time.perf_counter()
            write_array_store(paths, Path(folder) / "images.npy", args.size, threads=args.threads)
            times.append(time.perf_counter() - start)
    per_1000 = 1000 * min(times) / len(paths)
    log.info("array_store: timed (images=%d, threads=%d, size=%d, best_s=%.2f, seconds_per_1000=%.2f, runs_s=%s)",
             len(paths), args.threads, args.size, min(times), per_1000, [round(t, 2) for t in times])
    record("array_store", [{**machine(), "images": len(paths), "threads": args.threads, "size": args.size,
                            "seconds_per_1000": round(per_1000, 3), "label": args.label}])


if __name__ == "__main__":
    main()

"""A mock Nair & Abraham sample: catalog rows and SDSS-like JPEG cutouts.

The mock has exactly the raw schema of the real catalog (id, ra, dec, redshift,
size_arcsec, ttype), so every rule downstream of it is the same for real and
mock data. Images are rendered with numpy:

- elliptical: one de Vaucouleurs (Sersic n=4) profile, round-ish, red;
- lenticular: n=4 bulge plus a featureless exponential disk, any inclination;
- spiral: small bulge plus exponential disk with logarithmic arms, bluer disk;
- irregular+misc: a faint disk with bright, blue, asymmetric clumps.

Each is convolved with a Gaussian PSF, scaled to a random brightness, given
sky noise and an asinh stretch as SDSS colour images are. Parameter ranges
overlap on purpose (weak arms, face-on lenticulars, bulge-dominated spirals,
faint galaxies) so the task is not trivial. Deterministic from a seed.

The rendering is shared by the data kinds' mocks: `render_mock_galaxy` draws
Galaxy10's ten classes (for the Galaxy10 DECaLS and Galaxy Zoo 2 mocks), and
`observe` and `class_counts` serve them all.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image
from scipy.ndimage import gaussian_filter
from tqdm import tqdm

from ..io import atomic_path
from .classes import CLASS_NAMES

# Class fractions of the paper's sample (2,738 / 3,215 / 7,708 / 373 of 14,034).
PAPER_CLASS_FRACTIONS = np.array([2738, 3215, 7708, 373]) / 14034
TTYPE_CHOICES = {0: [-5], 1: [-3, -2, -1, 0], 2: [1, 2, 3, 4, 5, 6, 7, 8, 9], 3: [10, 99]}

# RGB colour of each component (SDSS gri mapped to BGR, so red = old stars).
RED = np.array([1.00, 0.78, 0.55])
BLUE = np.array([0.70, 0.80, 1.00])


def class_counts(n_galaxies: int, fractions: np.ndarray = PAPER_CLASS_FRACTIONS) -> np.ndarray:
    """Integer class counts summing to n_galaxies, closest to the fractions (largest remainder)."""
    exact = np.asarray(fractions) * n_galaxies
    counts = np.floor(exact).astype(int)
    remainder = n_galaxies - counts.sum()
    counts[np.argsort(-(exact - counts), kind="stable")[:remainder]] += 1
    return counts


def sersic(r: np.ndarray, r_e: float, n: float) -> np.ndarray:
    """Sersic profile of index `n` at radii `r`, 1 at the effective radius `r_e`."""
    b = 2.0 * n - 1.0 / 3.0
    return np.exp(-b * ((r / r_e) ** (1.0 / n) - 1.0))


def render_galaxy(class_index: int, size: int, rng: np.random.Generator) -> np.ndarray:
    """One galaxy as an HxWx3 float image (linear flux), centred, before noise."""
    half = (size - 1) / 2.0
    y, x = np.mgrid[0:size, 0:size].astype(np.float64)
    x0, y0 = half + rng.normal(0, 1.5, 2)
    angle = rng.uniform(0, np.pi)
    # Galaxy scale relative to the frame: the cutout is scaled to the galaxy's size.
    r_scale = size * rng.uniform(0.07, 0.13)
    dx, dy = x - x0, y - y0
    u = dx * np.cos(angle) + dy * np.sin(angle)
    v = -dx * np.sin(angle) + dy * np.cos(angle)

    def elliptical_radius(q: float) -> np.ndarray:
        return np.sqrt(u**2 + (v / q) ** 2) + 1e-6

    jitter = lambda colour: colour * rng.uniform(0.9, 1.1, 3)  # noqa: E731
    image = np.zeros((size, size, 3))
    if class_index == 0:  # elliptical
        q = rng.uniform(0.55, 1.0)
        image += sersic(elliptical_radius(q), r_scale, rng.uniform(3.0, 5.0))[..., None] * jitter(RED)
    elif class_index in (1, 2):  # lenticular or spiral: bulge + disk
        q_disk = rng.uniform(0.15, 1.0)
        bulge_fraction = rng.uniform(0.3, 0.7) if class_index == 1 else rng.uniform(0.05, 0.4)
        bulge = sersic(elliptical_radius(max(q_disk, 0.7)), r_scale * 0.45, 4.0)
        r_disk = elliptical_radius(q_disk)
        disk = np.exp(-r_disk / (r_scale * rng.uniform(0.7, 1.1)))
        if class_index == 2:
            # Logarithmic spiral arms in the disk plane, seen at the disk's inclination.
            theta = np.arctan2(v / q_disk, u)
            pitch = np.deg2rad(rng.uniform(10, 30))
            arms = rng.choice([2, 2, 2, 3, 4])
            amplitude = rng.uniform(0.15, 0.9)
            phase = arms * (theta - np.log(r_disk / r_scale + 0.1) / np.tan(pitch)) + rng.uniform(0, 2 * np.pi)
            disk = disk * (1.0 + amplitude * np.cos(phase))
            disk_colour = jitter(0.55 * BLUE + 0.45 * RED)
        else:
            disk_colour = jitter(0.15 * BLUE + 0.85 * RED)
        bulge *= bulge_fraction / bulge.sum()
        disk *= (1 - bulge_fraction) / disk.sum()
        image += bulge[..., None] * jitter(RED) + disk[..., None] * disk_colour
    else:  # irregular + misc: clumpy and asymmetric
        q = rng.uniform(0.3, 1.0)
        base = np.exp(-elliptical_radius(q) / (r_scale * 1.2))
        image += base[..., None] * jitter(BLUE) / base.sum() * rng.uniform(0.2, 0.6)
        for _ in range(rng.integers(3, 9)):
            cx, cy = np.array([x0, y0]) + rng.normal(0, r_scale * 1.2, 2)
            width = r_scale * rng.uniform(0.15, 0.5)
            clump = np.exp(-((x - cx) ** 2 + (y - cy) ** 2) / (2 * width**2))
            image += clump[..., None] * jitter(BLUE) / clump.sum() * rng.uniform(0.05, 0.3)
    # Occasional neighbour star or galaxy, as in real cutouts.
    for _ in range(rng.poisson(0.6)):
        sx, sy = rng.uniform(0, size, 2)
        star = np.exp(-((x - sx) ** 2 + (y - sy) ** 2) / (2 * rng.uniform(0.8, 2.5) ** 2))
        image += star[..., None] * rng.uniform(0.5, 1.0, 3) / star.sum() * rng.uniform(0.02, 0.15)
    return image / max(image.sum() / 3.0, 1e-12)


def observe(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """PSF, brightness, sky noise and asinh stretch: linear flux -> uint8 RGB."""
    psf_sigma = rng.uniform(0.8, 1.8)
    blurred = np.stack([gaussian_filter(image[..., c], psf_sigma) for c in range(3)], axis=-1)
    flux = 10 ** rng.uniform(3.3, 4.5)  # total counts: faint to bright
    sky_sigma = 1.0
    noisy = blurred * flux + rng.normal(0, sky_sigma, blurred.shape)
    stretch = 0.4 * flux / blurred.size * 3 * 8  # asinh softening relative to the surface brightness
    scaled = np.arcsinh(noisy / sky_sigma / 3.0) / np.arcsinh(stretch)
    return np.clip(scaled * 255, 0, 255).astype(np.uint8)


def render_mock_galaxy(class_index: int, size: int, rng: np.random.Generator) -> np.ndarray:
    """One mock galaxy of Galaxy10's ten classes as linear flux (H x W x 3).

    One mock galaxy of Galaxy10's ten classes (in galaxy10_decals.classes.CLASS_NAMES' order) as linear flux (H x W
    x 3): each class drawn by what tells it apart. The Galaxy10 and Galaxy Zoo 2 mocks draw these.
    """
    y, x = np.mgrid[0:size, 0:size].astype(np.float64)
    x0, y0 = (size - 1) / 2 + rng.normal(0, 1.0, 2)
    angle = rng.uniform(0, np.pi)
    r_scale = size * rng.uniform(0.08, 0.12)

    def radius(q, cx=x0, cy=y0, turn=angle):
        u = (x - cx) * np.cos(turn) + (y - cy) * np.sin(turn)
        v = -(x - cx) * np.sin(turn) + (y - cy) * np.cos(turn)
        return np.sqrt(u**2 + (v / q) ** 2) + 1e-6, u, v

    def spiral(arms, pitch_deg, bar):
        r, u, v = radius(rng.uniform(0.7, 1.0))
        theta = np.arctan2(v, u)
        disk = np.exp(-r / r_scale) * (1 + 0.8 * np.cos(arms * (theta - np.log(r / r_scale + 0.1)
                                                                 / np.tan(np.deg2rad(pitch_deg)))))
        image = disk[..., None] * (0.6 * BLUE + 0.4 * RED) / disk.sum()
        if bar:
            rb, _, _ = radius(0.25)
            b = np.exp(-rb / (r_scale * 0.6))
            image += b[..., None] * RED / b.sum() * 0.35
        bulge = sersic(r, r_scale * 0.3, 4.0)
        return image + bulge[..., None] * RED / bulge.sum() * 0.2

    if class_index == 0:  # disturbed: lopsided, with a tidal plume
        r, u, v = radius(rng.uniform(0.7, 1.0))
        image = (np.exp(-r / r_scale) * (1 + 0.9 * np.tanh(u / r_scale)))[..., None] * RED
        plume = np.exp(-(((u - 2.5 * r_scale) / (2 * r_scale)) ** 2 + ((v - u**2 / (6 * r_scale)) / r_scale) ** 2))
        image = image / image.sum() + plume[..., None] * BLUE / plume.sum() * 0.7
    elif class_index == 1:  # merging: two nuclei close together
        image = np.zeros((size, size, 3))
        offset = r_scale * rng.uniform(1.5, 2.5)
        for sign in (-1, 1):
            r, _, _ = radius(0.8, x0 + sign * offset * np.cos(angle), y0 + sign * offset * np.sin(angle))
            blob = sersic(r, r_scale * 0.6, 2.0)
            image += blob[..., None] * RED / blob.sum()
    elif class_index in (2, 3, 4):  # smooth: round, in-between, cigar
        q = {2: rng.uniform(0.85, 1.0), 3: rng.uniform(0.5, 0.75), 4: rng.uniform(0.15, 0.3)}[class_index]
        r, _, _ = radius(q)
        image = sersic(r, r_scale, 4.0)[..., None] * RED
    elif class_index in (5, 6, 7):  # spirals: barred, tight, loose
        image = spiral(2, {5: 20, 6: 10, 7: 35}[class_index], bar=class_index == 5)
    else:  # edge-on disks, without and with a bulge
        r, _, _ = radius(0.08)
        image = np.exp(-r / (r_scale * 1.5))[..., None] * (0.5 * BLUE + 0.5 * RED)
        if class_index == 9:
            rb, _, _ = radius(0.8)
            bulge = sersic(rb, r_scale * 0.5, 4.0)
            image = image / image.sum() + bulge[..., None] * RED / bulge.sum() * 0.6
    return image / max(image.sum() / 3.0, 1e-12)


def make_mock_catalog(n_galaxies: int, seed: int) -> pd.DataFrame:
    """Raw catalog rows of the mock sample, in the real catalog's schema."""
    rng = np.random.default_rng([seed, 0])
    counts = class_counts(n_galaxies)
    class_index = rng.permutation(np.repeat(np.arange(len(CLASS_NAMES)), counts))
    ttype = np.array([rng.choice(TTYPE_CHOICES[int(c)]) for c in class_index], dtype=np.int64)
    ra = rng.uniform(120, 240, n_galaxies)
    dec = np.degrees(np.arcsin(rng.uniform(np.sin(np.radians(-5)), np.sin(np.radians(60)), n_galaxies)))
    ids = [f"J{r:09.5f}{d:+09.5f}" for r, d in zip(ra, dec)]
    return pd.DataFrame(
        {
            "id": ids,
            "ra": ra,
            "dec": dec,
            "redshift": rng.uniform(0.01, 0.1, n_galaxies),
            "size_arcsec": rng.lognormal(np.log(8.0), 0.35, n_galaxies),
            "ttype": ttype,
        }
    )


def write_mock_sample(
    catalog_path: os.PathLike, image_dir: os.PathLike, n_galaxies: int, seed: int, image_size: tuple[int, int]
) -> pd.DataFrame:
    """Write the mock raw catalog (Parquet) and one JPEG per galaxy named <id>.jpg."""
    catalog = make_mock_catalog(n_galaxies, seed)
    image_dir = Path(image_dir)
    image_dir.mkdir(parents=True, exist_ok=True)
    class_of = {t: c for c, ttypes in TTYPE_CHOICES.items() for t in ttypes}
    for i, row in enumerate(tqdm(catalog.itertuples(), total=len(catalog), desc="mock cutouts", unit="img")):
        rng = np.random.default_rng([seed, 1, i])
        size = int(rng.integers(image_size[0], image_size[1] + 1))
        pixels = observe(render_galaxy(class_of[row.ttype], size, rng), rng)
        target = image_dir / f"{row.id}.jpg"
        with atomic_path(target) as tmp:
            Image.fromarray(pixels).save(tmp, format="JPEG", quality=90)
    with atomic_path(catalog_path) as tmp:
        catalog.to_parquet(tmp, index=False)
    return catalog

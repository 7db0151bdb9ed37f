"""How close generated images are to real ones, measured in a feature network's space.

Numpy only, so the search, the report and `automl predict` score samples the
same way without SciPy:

- `frechet_distance`: the Frechet distance between two Gaussians fitted to the
  features (the FID formula; TF-GAN's `mnist_frechet_distance` uses a
  classifier's features the same way).
- `kernel_inception_distance`: the unbiased squared MMD with the cubic
  polynomial kernel, averaged over subsets (KID, Binkowski et al. 2018); unlike
  the Frechet distance it has no bias that depends on the sample count.
- `precision_recall_density_coverage`: k-nearest-neighbour balls around the
  real features (Naeem et al. 2020): precision and density say how many
  generated samples look real, recall and coverage how much of the real
  data the samples reach (mode collapse lowers these).
"""

from __future__ import annotations

import numpy as np


def _gaussian(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    features = np.asarray(features, dtype=np.float64)
    if features.ndim != 2 or len(features) < 2:
        raise ValueError(f"expected at least 2 feature vectors as a (count, dims) array. Received shape "
                         f"{features.shape}")
    return features.mean(axis=0), np.cov(features, rowvar=False)


def _sqrt_psd(matrix: np.ndarray) -> np.ndarray:
    """The symmetric square root of a symmetric positive semi-definite matrix."""
    values, vectors = np.linalg.eigh((matrix + matrix.T) / 2)
    return (vectors * np.sqrt(np.clip(values, 0, None))) @ vectors.T


def frechet_distance(real: np.ndarray, generated: np.ndarray) -> float:
    """||mu_r - mu_g||^2 + tr(S_r + S_g - 2 (S_r^1/2 S_g S_r^1/2)^1/2), over (count, dims) features."""
    mu_r, cov_r = _gaussian(real)
    mu_g, cov_g = _gaussian(generated)
    root_r = _sqrt_psd(cov_r)
    # (S_r^1/2 S_g S_r^1/2) is symmetric PSD, so its root's trace is the sum of its eigenvalues' roots:
    # stable where sqrtm of the non-symmetric S_r S_g turns complex.
    cross = np.linalg.eigvalsh(root_r @ cov_g @ root_r)
    trace_root = float(np.sum(np.sqrt(np.clip(cross, 0, None))))
    distance = float(np.sum((mu_r - mu_g) ** 2) + np.trace(cov_r) + np.trace(cov_g) - 2 * trace_root)
    return max(distance, 0.0)


def kernel_inception_distance(real: np.ndarray, generated: np.ndarray, subsets: int = 10,
                              subset_size: int = 1000, seed: int = 0) -> float:
    """Mean over random subsets of the unbiased MMD^2 with k(x, y) = (x.y / dims + 1)^3."""
    real, generated = np.asarray(real, np.float64), np.asarray(generated, np.float64)
    size = min(subset_size, len(real), len(generated))
    if size < 2:
        raise ValueError(f"KID needs at least 2 feature vectors on each side. Received {len(real)} real and "
                         f"{len(generated)} generated")
    rng = np.random.default_rng(seed)
    dims = real.shape[1]
    estimates = []
    for _ in range(subsets):
        x = real[rng.choice(len(real), size, replace=False)]
        y = generated[rng.choice(len(generated), size, replace=False)]
        k_xx, k_yy, k_xy = ((a @ b.T / dims + 1) ** 3 for a, b in ((x, x), (y, y), (x, y)))
        off_diagonal = size * (size - 1)
        estimates.append((k_xx.sum() - np.trace(k_xx)) / off_diagonal + (k_yy.sum() - np.trace(k_yy)) / off_diagonal
                         - 2 * k_xy.mean())
    return float(np.mean(estimates))


def squared_distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    squared = (a ** 2).sum(1)[:, None] + (b ** 2).sum(1)[None, :] - 2 * a @ b.T
    return np.clip(squared, 0, None)


def precision_recall_density_coverage(real: np.ndarray, generated: np.ndarray, k: int = 5) -> dict:
    """Naeem et al. 2020 over (count, dims) features; each a share in [0, 1] except density (about 1
    when the samples are spread like the real data, above it when they crowd where real data is dense)."""
    real, generated = np.asarray(real, np.float64), np.asarray(generated, np.float64)
    if len(real) <= k or len(generated) <= k:
        raise ValueError(f"precision/recall/density/coverage need more than k={k} feature vectors on each side. "
                         f"Received {len(real)} real and {len(generated)} generated")
    # The k-th neighbour (index k: index 0 is the point itself) sets each ball's squared radius.
    real_radii = np.sort(squared_distances(real, real), axis=1)[:, k]
    generated_radii = np.sort(squared_distances(generated, generated), axis=1)[:, k]
    real_to_generated = squared_distances(real, generated)  # (real, generated)
    inside_real_balls = real_to_generated <= real_radii[:, None]
    inside_generated_balls = real_to_generated <= generated_radii[None, :]
    return {
        "precision": float(inside_real_balls.any(axis=0).mean()),
        "recall": float(inside_generated_balls.any(axis=1).mean()),
        "density": float(inside_real_balls.sum() / (k * len(generated))),
        "coverage": float((real_to_generated.min(axis=1) <= real_radii).mean()),
    }

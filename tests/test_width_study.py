"""scripts/unet_width_study.py's reference estimates against closed forms (fast; the script end to end on the
smoke run is tests/test_smoke_dag.py::test_unet_band_probe_continues_the_unet_on_one_band)."""

import numpy as np
import torch
from scipy.stats import multivariate_normal

from script_modules import load_script


def _features(n_per_class, means, seed=0):
    g = torch.Generator().manual_seed(seed)
    f = torch.cat([torch.randn(n_per_class, len(m), generator=g) * 0.5 + torch.tensor(m) for m in means])
    y = torch.arange(len(means)).repeat_interleave(n_per_class)
    return f.view(-1, 1, 1, len(means[0])), y


def test_one_class_mixture_is_the_wiener_estimate():
    """A one-component Gaussian prior has a linear posterior mean: the mixture estimate equals Wiener's."""
    study = load_script("unet_width_study")
    f, y = _features(400, [[0.3, -0.2, 0.1]])
    x = torch.randn(50, 1, 1, 3, generator=torch.Generator().manual_seed(1))
    ab = torch.tensor([0.9, 0.5, 0.05]).repeat_interleave(torch.tensor([20, 20, 10]))
    assert torch.allclose(study.class_mixture(f, torch.zeros_like(y), x, ab), study.wiener(f, x, ab), atol=1e-5)


def test_class_mixture_is_the_posterior_mean_under_the_fitted_components():
    """Two classes: the estimate is sum_c p(c | x_t) E[f0 | x_t, c], computed here independently with scipy's
    Gaussian densities from the same class means, covariances and shares."""
    study = load_script("unet_width_study")
    f, y = _features(300, [[1.5, 0.0], [-1.0, 0.8]])
    f, y = f[:-100], y[:-100]  # unequal shares
    x = torch.randn(40, 1, 1, 2, generator=torch.Generator().manual_seed(2)) * 1.5
    ab = torch.full((40,), 0.3)
    got = study.class_mixture(f, y, x, ab).flatten(1).double().numpy()
    a, ff = 0.3, f.flatten(1).double().numpy()
    want = np.zeros((40, 2))
    weights = []
    for c in (0, 1):
        fc = ff[y.numpy() == c]
        mu, cov = fc.mean(0), np.cov(fc.T)
        s = a * cov + (1 - a) * np.eye(2)
        xs = x.flatten(1).double().numpy()
        weights.append(len(fc) / len(ff) * multivariate_normal(np.sqrt(a) * mu, s).pdf(xs))
        want_c = mu + np.sqrt(a) * (xs - np.sqrt(a) * mu) @ np.linalg.solve(s, cov)  # S^-1 symmetric, cov symmetric
        want += weights[-1][:, None] * want_c
    want /= np.sum(weights, 0)[:, None]
    assert np.allclose(got, want, atol=1e-5)

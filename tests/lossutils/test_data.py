"""Seeded data sets: deterministic given the seed, the documented shapes, balance and structure."""


import numpy as np
import pytest

from lossutils import data

SEEDED = {
    "circles": lambda seed: data.circles(n=101, seed=seed),
    "imbalanced_blobs": lambda seed: data.imbalanced_blobs(n=300, seed=seed),
    "sine_with_outliers": lambda seed: data.sine_with_outliers(seed=seed, return_outliers=True),
    "house_prices": lambda seed: data.house_prices(seed=seed, return_outliers=True),
    "clustered_embeddings": lambda seed: data.clustered_embeddings(seed=seed),
}


@pytest.mark.parametrize("name", sorted(SEEDED))
def test_same_seed_same_arrays_other_seed_other_arrays(name):
    make = SEEDED[name]
    a, b, c = make(0), make(0), make(1)
    for u, v in zip(a, b, strict=True):
        np.testing.assert_array_equal(u, v)
    assert not all(np.array_equal(u, w) for u, w in zip(a, c, strict=True))


def test_circles_shapes_labels_and_radii():
    X, y = data.circles(n=101, seed=3)
    assert X.shape == (101, 2) and X.dtype == np.float64
    assert y.shape == (101,) and y.dtype == np.int64
    assert np.bincount(y).tolist() == [50, 51]
    X0, y0 = data.circles(n=40, noise=0.0, factor=0.3, seed=0)
    r = np.linalg.norm(X0, axis=1)
    np.testing.assert_allclose(r[y0 == 0], 1.0)
    np.testing.assert_allclose(r[y0 == 1], 0.3)
    assert 0 < y0[:20].sum() < 20  # shuffled, not sorted by label


def test_imbalanced_blobs_exact_minority_and_separation():
    X, y = data.imbalanced_blobs(n=2000, minority_fraction=0.1, distance=2.0, seed=0)
    assert X.shape == (2000, 2) and y.shape == (2000,) and y.dtype == np.int64
    assert int(y.sum()) == 200
    gap = np.linalg.norm(X[y == 1].mean(0) - X[y == 0].mean(0))
    assert abs(gap - 2.0) < 0.2
    assert int(data.imbalanced_blobs(n=50, minority_fraction=0.02)[1].sum()) == 1


def test_sine_with_outliers_structure():
    x, y = data.sine_with_outliers(n=200, outlier_fraction=0.05, noise=0.1, seed=0)
    x2, y2, out = data.sine_with_outliers(n=200, outlier_fraction=0.05, noise=0.1, seed=0,
                                          return_outliers=True)
    np.testing.assert_array_equal(y, y2)
    assert x.shape == y.shape == out.shape == (200,)
    assert np.all(np.diff(x) >= 0) and x.min() >= 0 and x.max() <= 2 * np.pi
    assert out.sum() == 10
    resid = y - np.sin(x)
    assert np.all(np.abs(resid[~out]) < 0.5)
    assert np.all(resid[out] > 5.0 - 1.0 - 0.5)


def test_house_prices_one_big_outlier():
    size, price, out = data.house_prices(n=30, seed=2, return_outliers=True)
    assert size.shape == price.shape == out.shape == (30,)
    assert out.sum() == 1
    assert size.min() >= 60 and size.max() <= 200
    resid = price - (50.0 + 2.0 * size)
    assert np.all(np.abs(resid[~out]) < 40)
    assert 150 < resid[out][0] < 250


def test_bimodal_distribution_is_a_two_peaked_distribution():
    p = data.bimodal_distribution(K=20)
    assert p.shape == (20,) and np.all(p >= 0)
    np.testing.assert_allclose(p.sum(), 1.0)
    np.testing.assert_allclose(p, p[::-1])  # equal weights, modes mirrored around 0.5
    peaks = [k for k in range(1, 19) if p[k] > p[k - 1] and p[k] > p[k + 1]]
    assert len(peaks) == 2
    np.testing.assert_array_equal(p, data.bimodal_distribution(K=20))
    skew = data.bimodal_distribution(K=30, weights=(0.8, 0.2))
    assert skew[:15].sum() > 0.7


def test_clustered_embeddings_balanced_and_clustered():
    emb, labels = data.clustered_embeddings(n_classes=5, per_class=20, dim=2, spread=0.1, seed=0)
    assert emb.shape == (100, 2) and labels.shape == (100,) and labels.dtype == np.int64
    assert np.bincount(labels).tolist() == [20] * 5
    centres = np.stack([emb[labels == k].mean(0) for k in range(5)])
    nearest = np.argmin(np.linalg.norm(emb[:, None] - centres[None], axis=2), axis=1)
    assert np.mean(nearest == labels) > 0.98
    np.testing.assert_allclose(np.linalg.norm(centres, axis=1), 1.0, atol=0.1)
    high, lab = data.clustered_embeddings(n_classes=3, per_class=4, dim=8, seed=1)
    assert high.shape == (12, 8) and np.bincount(lab).tolist() == [4, 4, 4]


@pytest.mark.parametrize("call, arg", [
    (lambda: data.circles(n=1), "n"),
    (lambda: data.circles(factor=1.5), "factor"),
    (lambda: data.imbalanced_blobs(minority_fraction=1.2), "minority_fraction"),
    (lambda: data.sine_with_outliers(outlier_fraction=0.0), "outlier_fraction"),
    (lambda: data.house_prices(noise=-1.0), "noise"),
    (lambda: data.bimodal_distribution(K=2), "K"),
    (lambda: data.clustered_embeddings(per_class=0), "per_class"),
])
def test_bad_arguments_name_the_argument(call, arg):
    with pytest.raises(ValueError, match=rf"lossutils\.data\.\w+: {arg}"):
        call()

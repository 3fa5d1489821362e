"""diagnose: each finding fires on its mistake and stays silent on honest inputs.
recommend_loss: the advised loss for each kind of target, and clear errors for bad targets."""

import dataclasses

import numpy as np
import pytest
import torch

import lossutils as L
from lossutils import data

RNG = np.random.default_rng(11)
N, C = 32, 5
Z = RNG.normal(size=(N, C))  # honest logits
Y = RNG.integers(0, C, size=N)  # honest class ids
Y01 = (RNG.random(N) < 0.4).astype(np.float64)
MULTI_HOT = (RNG.random((N, C)) < 0.3).astype(np.float64)
MULTI_HOT[0, :3] = 1.0  # at least one row with several labels


def names(loss, input, target, **kw):
    return L.diagnose(loss, input, target, **kw).names


# ----------------------------------------------------------------------------- honest inputs

def honest_cases(seed):
    rng = np.random.default_rng(seed)
    n, c = int(rng.integers(2, 65)), int(rng.integers(2, 11))
    z = rng.normal(size=(n, c))
    y = rng.integers(0, c, size=n)
    q = L.softmax(rng.normal(size=(n, c)))
    bits = (rng.random((n, c)) < 0.5).astype(np.float64)
    tokens = rng.integers(0, c, size=(n, 8))          # next-token targets of n sequences
    padded = tokens.copy()
    for row, length in zip(padded, rng.integers(1, 9, size=n), strict=True):
        row[length:] = -100                           # right padding, ignored
    ended = tokens.copy()
    ended[:, -1] = c - 1                              # every sequence ends with one mark
    return [
        ("cross_entropy", z, y, {}),
        ("cross_entropy", z, q, {}),
        ("cross_entropy", z, L.label_smoothing_targets(y, c, label_smoothing=0.1), {}),
        ("cross_entropy", rng.normal(size=(n, c, 3)), rng.integers(0, c, size=(n, 3)), {}),
        ("cross_entropy", rng.normal(size=(n, c, 8)), tokens, {}),
        ("cross_entropy", rng.normal(size=(n, c, 8)), padded, {}),
        ("cross_entropy", rng.normal(size=(n, c, 8)), ended, {}),
        ("multi_margin_loss", 3.0 * z, y, {}),
        ("nll_loss", L.log_softmax(z), y, {}),
        ("binary_cross_entropy", L.sigmoid(z), bits, {}),
        ("binary_cross_entropy_with_logits", z, bits, {}),
        ("binary_cross_entropy_with_logits", z[:, 0], bits[:, 0], {}),
        ("sigmoid_focal_loss", z, bits, {}),
        ("multilabel_soft_margin_loss", z, bits, {}),
        ("mse_loss", z[:, 0], rng.normal(size=n), {}),
        ("l1_loss", z, 3.0 * rng.normal(size=(n, c)), {}),
        ("huber_loss", z[:, 0], rng.poisson(40.0, size=n).astype(np.float64), {}),
        ("kl_div", L.log_softmax(z), q, {"reduction": "batchmean"}),
        ("kl_div", L.log_softmax(z), np.log(q), {"reduction": "batchmean", "log_target": True}),
        ("kl_div", L.log_softmax(z), q, {"reduction": "sum"}),
    ]


@pytest.mark.parametrize("seed", range(40))
def test_no_findings_on_honest_inputs(seed):
    for loss, x, y, kw in honest_cases(seed):
        assert names(loss, x, y, **kw) == [], (loss, x.shape, y.shape, kw)


def test_no_findings_on_course_data_sets():
    X, y = data.circles(seed=0)
    w = np.random.default_rng(0).normal(size=(2, 2))
    assert names("cross_entropy", X @ w, y) == []
    size, price = data.house_prices()
    assert names("mse_loss", 50 + 2 * size, price) == []
    assert names("huber_loss", 50 + 2 * size, price) == []
    x, y = data.sine_with_outliers()
    assert names("l1_loss", np.sin(x), y) == []


def test_no_findings_on_honest_torch_tensors():
    z = torch.randn(16, 4, generator=torch.Generator().manual_seed(0))
    y = torch.randint(0, 4, (16,), generator=torch.Generator().manual_seed(1))
    assert names("cross_entropy", z.requires_grad_(), y) == []
    assert names("nll_loss", torch.log_softmax(z, 1), y) == []
    p = torch.softmax(torch.randn(16, 4), 1)
    assert names(torch.nn.KLDivLoss(reduction="batchmean"), torch.log_softmax(z, 1), p) == []


# ----------------------------------------------------------------------------- each mistake

SPATIAL = RNG.normal(size=(2, 4, 4, 3))
TOKENS = RNG.integers(1, C, size=(4, 10))          # next-token ids of 4 sequences
PADDED_WITH_0 = TOKENS.copy()
for _row, _length in zip(PADDED_WITH_0, (10, 7, 4, 9), strict=True):
    _row[_length:] = 0                               # padding id 0, never a real token here
P01 = L.sigmoid(Z)
P01[0, 0], Y01_2D = 0.0, (RNG.random((N, C)) < 0.5).astype(np.float64)
Y01_2D[0, 0] = 1.0  # a probability of exactly 0 where the label is 1

MISTAKES = [
    ("double_softmax", "cross_entropy", L.softmax(Z), Y, {}),
    ("probabilities_as_logits", "cross_entropy", L.sigmoid(Z), Y, {}),
    ("probabilities_as_logits", "binary_cross_entropy_with_logits", L.sigmoid(Z), MULTI_HOT, {}),
    ("probabilities_as_logits", "sigmoid_focal_loss", L.sigmoid(Z[:, 0]), Y01, {}),
    ("logits_as_probabilities", "binary_cross_entropy", Z[:, 0], Y01, {}),
    ("probabilities_as_log_probs", "nll_loss", L.softmax(Z), Y, {}),
    ("logits_as_log_probs", "nll_loss", Z, Y, {}),
    ("log_probs_not_normalised", "nll_loss", -np.abs(Z) - 3.0, Y, {}),
    ("regression_on_class_labels", "mse_loss", Z[:, 0], Y.astype(np.float64), {}),
    ("regression_on_class_labels", "mse_loss", L.sigmoid(Z[:, 0]), Y01, {}),
    ("regression_on_class_labels", "l1_loss", L.softmax(Z), np.eye(C)[Y], {}),
    ("multi_label_with_softmax", "cross_entropy", Z, MULTI_HOT, {}),
    ("multi_label_with_softmax", "nll_loss", L.log_softmax(Z), MULTI_HOT, {}),
    ("target_n1_shape", "cross_entropy", Z, Y[:, None], {}),
    ("float_class_targets", "cross_entropy", Z, Y.astype(np.float64), {}),
    ("float_class_targets", "nll_loss", L.log_softmax(Z), Y + 0.5, {}),
    ("class_index_out_of_range", "cross_entropy", Z, Y + 1, {}),
    ("one_hot_integer_targets", "cross_entropy", Z, np.eye(C, dtype=np.int64)[Y], {}),
    ("target_rows_not_distributions", "cross_entropy", Z, RNG.random((N, C)), {}),
    ("class_dim_last", "cross_entropy", SPATIAL, RNG.integers(0, 3, size=(2, 4, 4)), {}),
    ("missing_class_dimension", "cross_entropy", Z[:, 0], Y01.astype(np.int64), {}),
    ("single_logit_cross_entropy", "cross_entropy", Z[:, :1], np.zeros(N, dtype=np.int64), {}),
    ("shape_mismatch", "cross_entropy", Z, Y[:-1], {}),
    ("shape_mismatch", "binary_cross_entropy_with_logits", Z[:, :1], Y01, {}),
    ("shape_mismatch", "mse_loss", np.zeros(3), np.zeros(4), {}),
    ("broadcast_shapes", "mse_loss", Z[:, :1], RNG.normal(size=N), {}),
    ("minus_one_labels", "binary_cross_entropy_with_logits", Z[:, 0], 2 * Y01 - 1, {}),
    ("class_ids_in_binary_loss", "binary_cross_entropy_with_logits", Z[:, 0], Y, {}),
    ("target_outside_0_1", "binary_cross_entropy", P01, RNG.normal(size=(N, C)), {}),
    ("saturated_probabilities", "binary_cross_entropy", P01, Y01_2D, {}),
    ("single_label_rows", "binary_cross_entropy_with_logits", Z, np.eye(C)[Y], {}),
    ("non_finite_input", "cross_entropy", np.where(Z > 2, np.nan, Z), Y, {}),
    ("non_finite_target", "mse_loss", Z[:, 0], np.r_[np.inf, np.zeros(N - 1)], {}),
    ("empty_batch", "cross_entropy", np.zeros((0, C)), np.zeros(0, dtype=np.int64), {}),
    ("class_dim_last", "cross_entropy", RNG.normal(size=(4, 10, C)), TOKENS, {}),
    ("padding_not_ignored", "cross_entropy", RNG.normal(size=(4, C, 10)), PADDED_WITH_0, {}),
    ("padding_not_ignored", "nll_loss", L.log_softmax(RNG.normal(size=(4, C, 10))),
     PADDED_WITH_0, {}),
    ("all_targets_ignored", "cross_entropy", RNG.normal(size=(4, C, 10)),
     np.full((4, 10), -100), {}),
    ("all_targets_ignored", "cross_entropy", Z, np.zeros(N, dtype=np.int64), {"ignore_index": 0}),
    ("probabilities_as_margin_scores", "multi_margin_loss", L.softmax(Z), Y, {}),
    ("class_index_out_of_range", "multi_margin_loss", Z, Y + 1, {}),
    ("target_n1_shape", "multi_margin_loss", Z, Y[:, None], {}),
    ("shape_mismatch", "multi_margin_loss", Z, np.eye(C)[Y], {}),
    ("shape_mismatch", "multi_margin_loss", Z[:, :1], Y * 0, {}),
    ("kl_div_mean_reduction", "kl_div", L.log_softmax(Z), L.softmax(Z[::-1]), {}),
    ("kl_div_probabilities_as_input", "kl_div", L.softmax(Z), L.softmax(Z[::-1]),
     {"reduction": "batchmean"}),
    ("kl_div_logits_as_input", "kl_div", Z, L.softmax(Z[::-1]), {"reduction": "batchmean"}),
    ("kl_div_arguments_swapped", "kl_div", L.softmax(Z), L.log_softmax(Z[::-1]),
     {"reduction": "batchmean"}),
    ("kl_div_log_target_mismatch", "kl_div", L.log_softmax(Z), L.log_softmax(-Z),
     {"reduction": "batchmean"}),
    ("kl_div_log_target_mismatch", "kl_div", L.log_softmax(Z), L.softmax(-Z),
     {"reduction": "batchmean", "log_target": True}),
    ("kl_div_target_not_distribution", "kl_div", L.log_softmax(Z), Z[::-1],
     {"reduction": "batchmean"}),
    ("kl_div_target_not_distribution", "kl_div", L.log_softmax(Z), RNG.random((N, C)),
     {"reduction": "batchmean"}),
]


@pytest.mark.parametrize("expected, loss, x, y, kw", MISTAKES,
                         ids=[f"{m[0]}-{m[1]}" for m in MISTAKES])
def test_each_mistake_is_found(expected, loss, x, y, kw):
    found = L.diagnose(loss, x, y, **kw)
    assert expected in found.names, str(found)
    for f in found:
        assert f.message and f.fix and "\n" not in f.message and "\n" not in f.fix


def test_double_softmax_message_names_what_was_seen():
    found = L.diagnose(loss="cross_entropy", input=L.softmax(Z), target=Y)
    assert found.names == ["double_softmax"]
    assert "sums to 1.000" in found[0].message and "[0, 1]" in found[0].message
    assert "remove the softmax" in found[0].fix


def test_one_based_labels_get_the_specific_fix():
    (f,) = L.diagnose("cross_entropy", Z, np.r_[np.arange(1, C + 1), Y[C:] + 1])
    assert f.name == "class_index_out_of_range" and "1-based" in f.fix and f"C = {C}" in f.message


def test_kl_mean_reduction_reports_the_factor():
    (f,) = L.diagnose("kl_div", L.log_softmax(Z), L.softmax(Z[::-1]))
    assert f"{C} times smaller" in f.message and "batchmean" in f.fix


def test_value_checks_skip_arrays_with_nan():
    p = L.softmax(Z)
    p[3, 1] = np.nan
    assert L.diagnose("cross_entropy", p, Y).names == ["non_finite_input"]
    assert "(3, 1)" in L.diagnose("cross_entropy", p, Y)[0].message


def test_ignore_index_is_not_out_of_range():
    y = Y.copy()
    y[:4] = -100
    assert names("cross_entropy", Z, y) == []


def test_padding_and_ignore_index():
    # torch agrees that padding counts unless ignored, and that an all-ignored batch is NaN
    logits = torch.tensor(RNG.normal(size=(4, C, 10)))
    target = torch.tensor(PADDED_WITH_0)
    counted = torch.nn.functional.cross_entropy(logits, target)
    ignored = torch.nn.functional.cross_entropy(logits, target, ignore_index=0)
    assert not torch.isclose(counted, ignored)
    assert torch.isnan(torch.nn.functional.cross_entropy(logits, torch.full_like(target, -100)))
    (f,) = L.diagnose("cross_entropy", logits, target)
    assert f.name == "padding_not_ignored" and "ignore_index=0" in f.fix and "-100" in f.fix
    assert f"{(PADDED_WITH_0 == 0).mean():.0%} of all targets" in f.message
    # the remedy silences it, whichever way it is given
    assert names("cross_entropy", logits, target, ignore_index=0) == []
    assert names(torch.nn.CrossEntropyLoss(ignore_index=0), logits, target) == []
    assert names("cross_entropy", logits, torch.where(target == 0, -100, target)) == []
    # an id that also occurs inside the text is a real token, not padding
    inside = PADDED_WITH_0.copy()
    inside[0, 2] = 0
    assert names("cross_entropy", logits, inside) == []


def test_ignore_index_only_where_the_loss_has_one():
    with pytest.raises(TypeError, match=r"diagnose: ignore_index is 0 for mse_loss"):
        L.diagnose("mse_loss", Z[:, 0], Z[:, 1], ignore_index=0)
    with pytest.raises(TypeError, match=r"diagnose: ignore_index"):
        L.diagnose("cross_entropy", Z, Y, ignore_index=0.5)
    assert names(torch.nn.MultiMarginLoss(), torch.tensor(Z), torch.tensor(Y)) == []


def test_torch_tensors_and_callables_and_modules():
    t = torch.tensor(Z, dtype=torch.float32)
    y = torch.tensor(Y)
    assert names(torch.nn.functional.cross_entropy, torch.softmax(t, 1), y) == ["double_softmax"]
    assert names(L.cross_entropy, t, y.float()) == ["float_class_targets"]
    assert names(torch.nn.CrossEntropyLoss(), t, y[:, None]) == ["target_n1_shape"]
    kl = torch.nn.KLDivLoss()  # torch's default reduction is 'mean'
    assert names(kl, torch.log_softmax(t, 1), torch.softmax(-t, 1)) == ["kl_div_mean_reduction"]
    assert names(kl, torch.log_softmax(t, 1), torch.softmax(-t, 1), reduction="sum") == []


def test_finding_and_findings_are_readable_and_frozen():
    found = L.diagnose("cross_entropy", L.softmax(Z), Y)
    f = found[0]
    assert isinstance(found, list) and isinstance(f, L.Finding)
    lines = str(f).splitlines()
    assert len(lines) == 2 and lines[0].startswith("double_softmax: ")
    assert lines[1].strip().startswith("fix: ")
    with pytest.raises(dataclasses.FrozenInstanceError):
        f.name = "other"
    assert str(L.diagnose("cross_entropy", Z, Y)) == "no findings"
    assert L.diagnose("cross_entropy", Z, Y) == []


def test_diagnose_rejects_unknown_loss_bad_reduction_and_non_numbers():
    with pytest.raises(ValueError, match=r"diagnose: loss is 'crossentropy'"):
        L.diagnose("crossentropy", Z, Y)
    with pytest.raises(ValueError, match=r"diagnose: reduction"):
        L.diagnose("cross_entropy", Z, Y, reduction="batchmean")
    with pytest.raises(TypeError, match=r"diagnose: target has dtype"):
        L.diagnose("cross_entropy", Z, np.array(["cat"] * N))


# ----------------------------------------------------------------------------- recommend_loss

def alt_names(rec):
    return [a.split()[0] for a in rec.alternatives]


def test_real_values_get_mse_and_honest_gaussians_never_huber():
    rec = L.recommend_loss(RNG.normal(5.0, 2.0, size=500))
    assert rec.loss == "mse_loss" and "l1_loss" in alt_names(rec)
    assert rec.torch_call == "F.mse_loss(pred, target)"
    assert "linear output" in rec.output_layer
    for seed in range(30):
        for n in (12, 100, 3000):
            y = np.random.default_rng(seed).normal(size=n)
            assert L.recommend_loss(y).loss == "mse_loss", (seed, n)


@pytest.mark.parametrize("target", [
    data.sine_with_outliers(seed=0)[1],
    data.sine_with_outliers(n=300, seed=4)[1],
    np.random.default_rng(0).standard_t(2, size=400),
])
def test_heavy_tails_get_huber_with_a_delta(target):
    rec = L.recommend_loss(target)
    assert rec.loss == "huber_loss" and "delta=" in rec.torch_call
    assert "l1_loss" in alt_names(rec) and "heavy tails" in rec.reason


def test_house_price_outlier_shows_in_the_residuals_not_the_prices():
    size, price = data.house_prices(seed=0)
    assert L.recommend_loss(price).loss == "mse_loss"
    resid = price - np.polyval(np.polyfit(size, price, 1), size)
    assert L.recommend_loss(resid).loss == "huber_loss"


def test_integer_quantities_are_regression_not_classes():
    prices = np.random.default_rng(0).integers(100_000, 400_000, size=200)
    assert L.recommend_loss(prices).loss == "mse_loss"
    assert L.recommend_loss(np.random.default_rng(0).integers(-3, 4, size=200)).loss == "mse_loss"


def test_balanced_binary():
    rec = L.recommend_loss(Y01)
    assert rec.loss == "binary_cross_entropy_with_logits"
    assert "pos_weight" not in rec.torch_call and "1 logit" in rec.output_layer
    assert L.recommend_loss(Y01.astype(bool)).loss == rec.loss
    pm = L.recommend_loss(2 * Y01 - 1)
    assert pm.loss == rec.loss and "(y + 1) / 2" in pm.reason


def test_imbalanced_binary_mentions_pos_weight_and_focal():
    _, y = data.imbalanced_blobs(n=1000, minority_fraction=0.1)
    rec = L.recommend_loss(y)
    assert rec.loss == "binary_cross_entropy_with_logits"
    assert "pos_weight=torch.tensor(9.0)" in rec.torch_call
    assert "sigmoid_focal_loss" in alt_names(rec) and "90.0%" in rec.reason
    assert "pos_weight" not in L.recommend_loss(data.imbalanced_blobs(minority_fraction=0.3)[1]
                                                ).torch_call


def test_class_ids_get_cross_entropy():
    rec = L.recommend_loss(Y)
    assert rec.loss == "cross_entropy" and f"{C} logits" in rec.output_layer
    assert f"ln {C} = {np.log(C):.3f}" in rec.reason
    as_float = L.recommend_loss(Y.astype(np.float64))
    assert as_float.loss == "cross_entropy" and ".long()" in as_float.reason
    skewed = L.recommend_loss(np.r_[np.zeros(300), np.ones(300), np.full(20, 2)].astype(int))
    assert "weight=class_weights" in skewed.torch_call and "sigmoid_focal_loss" in alt_names(skewed)
    gaps = L.recommend_loss(np.tile([0, 1, 3], 10))
    assert "never occur" in gaps.reason


def test_imbalance_advice_includes_the_prior_initialisation():
    _, y = data.imbalanced_blobs(n=1000, minority_fraction=0.1)
    rec = L.recommend_loss(y)
    bias = np.log(y.mean() / (1 - y.mean()))
    assert f"log(pi / (1 - pi)) = {bias:.3g}" in rec.reason and "chapter 7" in rec.reason
    skewed = L.recommend_loss(np.r_[np.zeros(300), np.ones(300), np.full(20, 2)].astype(int))
    assert "log class frequencies" in skewed.reason


def test_class_ids_offer_the_multiclass_svm_and_skip_ignore_index():
    assert "multi_margin_loss" in alt_names(L.recommend_loss(Y))
    with_unlabelled = np.r_[Y, np.full(5, -100)]
    rec = L.recommend_loss(with_unlabelled)
    assert rec.loss == "cross_entropy" and "5 of" in rec.reason
    assert "ignore_index=-100" in rec.reason
    assert L.recommend_loss(np.r_[Y, np.full(5, 7)], ignore_index=7).loss == "cross_entropy"
    # a real-valued target holding -100 is not a class target
    assert L.recommend_loss(np.r_[RNG.normal(size=50), -100.0]).loss != "cross_entropy"


def test_token_sequences_get_token_cross_entropy():
    tokens = RNG.integers(0, 50, size=(6, 20))
    rec = L.recommend_loss(tokens, structure="tokens")
    assert rec.loss == "cross_entropy" and "permute(0, 2, 1)" in rec.torch_call
    assert "(N, T, C)" in rec.output_layer and "perplexity" in rec.reason
    padded = tokens.copy()
    padded[2, 12:] = -100
    padded[4, 5:] = -100
    rec = L.recommend_loss(padded, structure="tokens")
    assert f"{int((padded == -100).sum())} positions" in rec.reason and "pooled" in rec.reason
    assert "ignore_index=0" in L.recommend_loss(np.where(padded == -100, 0, padded + 1),
                                                structure="tokens", ignore_index=0).torch_call
    # padding with an id that is not ignored is pointed out
    zero_pad = np.where(padded == -100, 0, padded + 1)
    assert "runs of the id 0" in L.recommend_loss(zero_pad, structure="tokens").reason
    assert L.recommend_loss(tokens[0], structure="tokens").loss == "cross_entropy"


@pytest.mark.parametrize("target, match", [
    (np.full((2, 5), -100), "all padding"),
    (np.array([[1, 2, -3]]), "negative id -3"),
    (np.array([[0.5, 1.0]]), "integer token ids"),
    (np.zeros((2, 2, 2), dtype=int), "integer token ids"),
])
def test_token_targets_clear_errors(target, match):
    with pytest.raises(ValueError, match=match):
        L.recommend_loss(target, structure="tokens")


def test_one_hot_multi_hot_soft_and_per_label_rows():
    onehot = L.recommend_loss(np.eye(C)[Y])
    assert onehot.loss == "cross_entropy" and "argmax(1)" in onehot.torch_call
    multi = L.recommend_loss(MULTI_HOT)
    assert multi.loss == "binary_cross_entropy_with_logits" and "never softmax" in multi.reason
    assert "threshold per label" in multi.reason
    rare = MULTI_HOT.copy()
    rare[:, 2] = 0.0
    rare[0, 2] = 1.0
    assert "pos_weight" in L.recommend_loss(rare).torch_call
    soft = L.recommend_loss(L.softmax(Z))
    assert soft.loss == "cross_entropy" and "kl_div" in alt_names(soft)
    assert soft.torch_call == "F.cross_entropy(logits, target)"
    per_label = L.recommend_loss(L.sigmoid(Z))
    assert per_label.loss == "binary_cross_entropy_with_logits"
    multi_out = L.recommend_loss(RNG.normal(size=(N, 3)))
    assert multi_out.loss == "mse_loss" and "3 linear outputs" in multi_out.output_layer


def test_column_targets_and_per_position_targets():
    rec = L.recommend_loss(Y[:, None])
    assert rec.loss == "cross_entropy" and f"({N}, 1)" in rec.reason
    seg = L.recommend_loss(RNG.integers(0, 4, size=(2, 8, 8)))
    assert seg.loss == "cross_entropy" and "class axis second" in seg.output_layer
    masks = L.recommend_loss(RNG.integers(0, 2, size=(2, 8, 8)))
    assert masks.loss == "binary_cross_entropy_with_logits" and "position" in masks.output_layer


def test_pairs_and_triplets():
    pairs = L.recommend_loss((RNG.random(40) < 0.5).astype(int), structure="pairs")
    assert pairs.loss == "contrastive_loss" and "contrastive_loss" in pairs.torch_call
    assert "same = (target == 1)" in L.recommend_loss(np.r_[np.ones(5), -np.ones(5)],
                                                      structure="pairs").reason
    idx = np.array([[0, 1, 2], [3, 4, 5], [1, 0, 4]])
    trip = L.recommend_loss(idx, structure="triplets")
    assert trip.loss == "triplet_margin_loss" and "triplet_semihard_loss" in alt_names(trip)
    _, labels = data.clustered_embeddings()
    semi = L.recommend_loss(labels, structure="triplets")
    assert semi.loss == "triplet_semihard_loss" and "nt_xent_loss" in alt_names(semi)


@pytest.mark.parametrize("target, kw, match", [
    (np.array([]), {}, "is empty"),
    (np.array([1.0, np.nan, 2.0]), {}, "NaN"),
    (np.ones(10), {}, "single value"),
    (np.float64(3.0), {}, "single number"),
    (Y01, {"structure": "graph"}, "structure is 'graph'"),
    (np.array([0.5, 2.0]), {"structure": "pairs"}, "same/different flag"),
    (np.arange(10), {"structure": "triplets"}, "one label repeated"),
    (np.array([[0, 1, 0]]), {"structure": "triplets"}, "negative is the anchor"),
])
def test_recommend_loss_clear_errors(target, kw, match):
    with pytest.raises(ValueError, match=match) as err:
        L.recommend_loss(target, **kw)
    assert "lossutils.recommend_loss" in str(err.value) and "Fix:" in str(err.value)


def test_recommendation_is_frozen_readable_and_takes_tensors():
    rec = L.recommend_loss(torch.tensor(Y))
    assert rec == L.recommend_loss(Y)
    text = str(rec)
    for label in ("loss:", "output layer:", "why:", "torch:", "alternatives:"):
        assert label in text
    with pytest.raises(dataclasses.FrozenInstanceError):
        rec.loss = "mse_loss"
    with pytest.raises(TypeError, match="recommend_loss: target has dtype"):
        L.recommend_loss(np.array(["a", "b"]))

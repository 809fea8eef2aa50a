import math

import pytest
import torch

from diffsem.baselines import (IBALTransmitter, direct_point, effective_snr_db, ibal_losses, permute_quadrants,
                               privacy_weight)
from diffsem.channel import per_sample_power
from diffsem.models import family_spec
from diffsem.schedule import linear_schedule
from diffsem.self_noising import received_noise_variance

S = linear_schedule(500, 1e-4, 0.02)


def test_permutation_is_an_involution_moving_two_quadrants():
    x = torch.arange(2 * 1 * 28 * 28, dtype=torch.float32).view(2, 1, 28, 28)
    p = permute_quadrants(x)
    assert torch.equal(permute_quadrants(p), x)
    assert torch.equal(p[..., :14, :14], x[..., 14:, 14:]) and torch.equal(p[..., 14:, 14:], x[..., :14, :14])
    assert torch.equal(p[..., :14, 14:], x[..., :14, 14:]) and torch.equal(p[..., 14:, :14], x[..., 14:, :14])
    assert not torch.equal(p, x)
    # content is only moved, never changed
    assert torch.equal(torch.sort(p.flatten()).values, torch.sort(x.flatten()).values)
    with pytest.raises(ValueError):
        permute_quadrants(torch.zeros(1, 1, 5, 6))


@pytest.mark.parametrize("t", [67, 150, 184, 344])
def test_direct_noise_esnr_matches_eq13(t):
    """At a compensated grid point the Direct image's SNR is Eq. 13's ESNR at t."""
    g = torch.Generator().manual_seed(t)
    x = torch.rand(3000, 1, 28, 28, generator=g)
    xt = direct_point(x, S, t, 15.0, g)
    sig = math.sqrt(float(S.alpha_bar[t])) * x
    measured = 10 * math.log10(float(per_sample_power(sig).mean() / (xt - sig).pow(2).mean()))
    assert abs(measured - float(S.esnr_db(t))) < 0.05


def test_effective_snr():
    # compensated points: the effective SNR is the ESNR of T' (Eq. 13), the paper's SNR -> t conversion
    for t in (67, 184, 344):
        assert abs(effective_snr_db(S, t, 15.0) - float(S.esnr_db(t))) < 1e-6
    # T' = 0: only the channel
    assert abs(effective_snr_db(S, 0, 15.0) - 15.0) < 1e-6
    assert effective_snr_db(S, 0, None) == 60.0
    # a channel noisier than T': the channel decides
    v = received_noise_variance(S, 20, -5.0)
    assert abs(effective_snr_db(S, 20, -5.0) - 10 * math.log10(float(S.alpha_bar[20]) / v)) < 1e-9


def test_privacy_weight_scales_with_noise():
    w = privacy_weight(0.1, torch.tensor([25.0, 15.0, 5.0, -30.0]), 15.0)
    assert torch.allclose(w[:3], torch.tensor([0.01, 0.1, 1.0]))
    assert math.isclose(float(w[3]), 1.0)  # clipped at 10x


def test_ibal_gradients_go_where_they_should():
    """The system loss pushes the decoder's MSE up but never trains the decoder; the decoder loss trains only D."""
    spec = family_spec("table1")
    torch.manual_seed(0)
    tx, clf, dec = IBALTransmitter(spec.encoder(), spec.k), spec.classifier(), spec.adversary()
    x, y = torch.rand(8, 1, 28, 28), torch.randint(0, 10, (8,))
    for p in dec.parameters():
        p.requires_grad_(False)
    system, _ = ibal_losses(tx, clf, dec, x, y, 10.0, 1e-3, 0.1, False, torch.Generator().manual_seed(0))
    system.backward()
    assert all(p.grad is None for p in dec.parameters())
    assert tx.encoder.net[0].weight.grad is not None and tx.logvar.grad is not None
    for p in dec.parameters():
        p.requires_grad_(True)
    tx.zero_grad()
    _, d = ibal_losses(tx, clf, dec, x, y, 10.0, 1e-3, 0.1, False, torch.Generator().manual_seed(0))
    d.backward()
    assert tx.encoder.net[0].weight.grad is None and dec.net[1].weight.grad is not None


def test_authors_ibal_loss_trains_encoder_and_classifier_against_the_decoder():
    """The authors' objective: gradients reach the encoder and the classifier, never the frozen decoder; the
    privacy term enters with -lam/(1 + sigma) (a larger lam lowers the loss on the same draws); beta = 0
    removes the KL term."""
    from diffsem.baselines import ibal_authors_loss

    spec = family_spec("table1")
    torch.manual_seed(0)
    enc, clf, dec = spec.encoder(), spec.classifier(), spec.adversary()
    for p in dec.parameters():
        p.requires_grad_(False)
    x, y = torch.rand(8, 1, 28, 28), torch.randint(0, 10, (8,))
    loss = lambda lam, beta, snr=10.0: ibal_authors_loss(enc, clf, dec, x, y, snr, beta, lam, torch.Generator().manual_seed(0))  # noqa: E731
    loss(1.0, 1e-3).backward()
    assert all(p.grad is None for p in dec.parameters())
    assert enc.net[0].weight.grad is not None and any(p.grad is not None for p in clf.parameters())
    with torch.no_grad():
        assert float(loss(2.0, 0.0)) < float(loss(1.0, 0.0)) < float(loss(0.0, 0.0))
        assert float(loss(0.0, 1.0)) > float(loss(0.0, 0.0))  # the KL term is positive
        per_sample = loss(1.0, 1e-3, torch.tensor([0.0] * 4 + [20.0] * 4))  # IBAL-D: one SNR per sample
        assert torch.isfinite(per_sample)


def test_ibal_feature_is_power_normalised_and_kl_nonnegative():
    spec = family_spec("table1")
    tx = IBALTransmitter(spec.encoder(), spec.k)
    f, kl = tx(torch.rand(4, 1, 28, 28), sample=True, g=torch.Generator().manual_seed(1))
    assert torch.allclose(per_sample_power(f), torch.ones(4), atol=1e-5)
    assert torch.all(kl >= 0)


@pytest.mark.filterwarnings("ignore:divide by zero")  # PSNR of an image with itself is inf
def test_score_point_counts_receiver_and_attacker():
    """score_point: NaN receiver when observe gives no logits; exact counts otherwise; SSIM 1 for x itself."""
    from diffsem.baseline_stages import score_point

    g = torch.Generator().manual_seed(0)
    n = 10
    y = torch.arange(n) % 3
    from diffsem.data import ImageSet

    split = ImageSet(torch.randint(0, 256, (n, 1, 8, 8), generator=g, dtype=torch.uint8), y, torch.arange(n))
    strong = lambda x: torch.nn.functional.one_hot(torch.zeros(x.shape[0], dtype=torch.long), 3).float()  # noqa: E731
    echo = lambda x, t, snr, g: (None, x)  # noqa: E731
    r = score_point(split, echo, strong, 0, 15.0, 0, 4, "cpu")
    assert math.isnan(r["receiver_acc"]) and r["n_eval"] == n
    assert r["attacker_acc"] == pytest.approx(float((y == 0).float().mean()))
    assert r["attacker_ssim"] == pytest.approx(1.0)
    assert math.isinf(r["attacker_psnr"]) or r["attacker_psnr"] > 90

    def oracle(x, t, snr, g, calls=[0]):
        rows = torch.arange(calls[0], calls[0] + x.shape[0])
        calls[0] += x.shape[0]
        return torch.nn.functional.one_hot(y[rows], 3).float(), x
    assert score_point(split, oracle, strong, 0, 15.0, 0, 4, "cpu")["receiver_acc"] == 1.0


def test_ibal_sweep_append_replaces_redone_pairs_only():
    import pandas as pd

    from diffsem.ibal_sweep import merge_rows

    old = pd.DataFrame({"variant": "ours", "lambda": [0.0, 0.0, 0.1, 0.1], "beta": [1e-3] * 4, "t": [150, 300] * 2,
                        "receiver_acc": [1, 2, 3, 4]})
    new = pd.DataFrame({"variant": "ours", "lambda": [0.1, 0.1, 1.0, 1.0], "beta": [1e-3] * 4, "t": [150, 300] * 2,
                        "receiver_acc": [5, 6, 7, 8]})
    out = merge_rows(old, new)
    assert list(out["receiver_acc"]) == [1, 2, 5, 6, 7, 8]
    assert list(out["lambda"]) == [0.0, 0.0, 0.1, 0.1, 1.0, 1.0]
    # another recipe's rows with the same weights are kept; rows from before the recipe was recorded are `ours`
    authors = new.assign(variant="authors", receiver_acc=[9, 10, 11, 12])
    both = merge_rows(old.drop(columns="variant"), authors)
    assert sorted(both["receiver_acc"]) == [1, 2, 3, 4, 9, 10, 11, 12] and set(both.variant) == {"ours", "authors"}


def test_semantic_attacker_on_ibal_hears_what_the_inversion_attacker_heard():
    """baseline_stages.ibal_eavesdropped replays a scored IBAL point: the z_eve it yields is exactly what
    score_point's observer handed the inversion network (same images, same draws), so the semantic
    attacker's rows pair with the IBAL receiver's."""
    from diffsem.baseline_stages import ibal_eavesdropped, ibal_observer, score_point
    from diffsem.data import ImageSet
    from diffsem.stages import point_key

    spec = family_spec("table1", 10)
    torch.manual_seed(0)
    tx, clf = IBALTransmitter(spec.encoder(), spec.k).eval(), spec.classifier().eval()
    heard = []

    class Recorder(torch.nn.Module):
        def forward(self, z):
            heard.append(z.clone())
            return torch.zeros(z.shape[0], 1, 28, 28)

    g = torch.Generator().manual_seed(1)
    images = ImageSet(torch.randint(0, 256, (10, 1, 28, 28), generator=g, dtype=torch.uint8), torch.arange(10) % 10,
                      torch.arange(10))
    observe = ibal_observer(tx, clf, {point_key(300, 15.0): Recorder()}, S, "ibal", "ours")
    score_point(images, observe, lambda x: torch.zeros(x.shape[0], 10), 300, 15.0, 2, 4, "cpu")
    replay = [z for _, z in ibal_eavesdropped(images, tx, S, 300, 15.0, 2, 4, "cpu")]
    assert len(replay) == len(heard) == 3
    assert all(torch.equal(a, b) for a, b in zip(replay, heard))
    # another evaluation seed draws other noise
    other = next(iter(ibal_eavesdropped(images, tx, S, 300, 15.0, 3, 4, "cpu")))[1]
    assert not torch.equal(other, heard[0])


def test_log_uniform_kl_and_the_authors_warm_up():
    """The IBAL authors' bottleneck term (Molchanov et al.'s log-uniform KL) and KL schedule."""
    import math

    import torch

    from diffsem.baselines import LOG_UNIFORM_K, kl_anneal, log_uniform_kl

    k1, k2, _ = LOG_UNIFORM_K
    one = log_uniform_kl(torch.ones(1, 4))
    assert float(one) == pytest.approx(4 * (k1 - k1 / (1 + math.exp(-k2)) + 0.5 * math.log(2)), rel=1e-6)
    alphas = torch.tensor([[1e-3], [1e-1], [1.0], [10.0], [1e4]])
    kl = log_uniform_kl(alphas)
    assert (kl[1:] < kl[:-1]).all() and float(kl[-1]) < 1e-3  # more noise per unit signal: less information
    # theirs (run_awgn.py): `epoch <= 5` -> no KL, then min(1, (epoch - 5) / 10)
    assert [kl_anneal(e, 5, 10) for e in (0, 5, 6, 10, 15, 40)] == [0.0, 0.0, 0.1, 0.5, 1.0, 1.0]
    assert kl_anneal(0, 0, 0) == 1.0 and kl_anneal(0, 0, 1) == 0.0 and kl_anneal(1, 0, 1) == 1.0

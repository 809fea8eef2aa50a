"""fit() with a Validation: the selected epoch's weights are restored, early stopping, the curve."""

import torch

from diffsem.training import Validation, fit, make_optimizer


def _setup():
    torch.manual_seed(0)
    net = torch.nn.Linear(3, 1)
    x, y = torch.randn(64, 3), torch.randn(64, 1)
    opt, sched = make_optimizer(net.parameters(), 1e-2, mode="max")
    step = lambda idx: torch.nn.functional.mse_loss(net(x[idx]), y[idx])  # noqa: E731
    return net, opt, sched, step


def test_best_epoch_restored_and_early_stop():
    net, opt, sched, step = _setup()
    scores = iter([0.1, 0.5, 0.4, 0.3, 0.2, 0.9])
    snapshots = []

    def score():
        snapshots.append({k: v.clone() for k, v in net.state_dict().items()})
        return {"acc": next(scores)}

    res = fit("t", {"m": net}, opt, sched, 6, 64, 16, torch.Generator().manual_seed(0), step,
              validation=Validation(score, "acc", "max", patience=2))
    # epochs 3 and 4 do not beat epoch 2, so training stops before epoch 5 (the 0.9 is never seen)
    assert res.best_epoch == 2 and len(res.curve) == 4 and len(res.losses) == 4
    assert [r["selected"] for r in res.curve] == [0, 1, 0, 0]
    assert [r["val_acc"] for r in res.curve] == [0.1, 0.5, 0.4, 0.3]
    for k, v in net.state_dict().items():
        assert torch.equal(v, snapshots[1][k])  # the modules end at epoch 2's weights


def test_record_only_validation_keeps_the_last_epoch():
    net, opt, sched, step = _setup()
    scores = iter([0.5, 0.1, 0.2])
    res = fit("t", {"m": net}, opt, sched, 3, 64, 16, torch.Generator().manual_seed(0), step,
              validation=Validation(lambda: {"acc": next(scores)}, "acc", select=False))
    assert res.best_epoch == 3 and [r["val_acc"] for r in res.curve] == [0.5, 0.1, 0.2]


def test_minimising_a_validation_loss():
    net, opt, sched, step = _setup()
    scores = iter([3.0, 2.0, 2.5])
    res = fit("t", {"m": net}, opt, sched, 3, 64, 16, torch.Generator().manual_seed(0), step,
              validation=Validation(lambda: {"mse": next(scores)}, "mse", "min"))
    assert res.best_epoch == 2


def test_a_larger_epoch_cap_continues_the_saved_state(tmp_path):
    """fit(extendable=section): raising that section's epochs continues the resume state, and the
    result equals an uninterrupted run with the larger cap (weights and curve)."""

    def run(epochs, path, meta_epochs):
        net, opt, sched, step = _setup()
        scores = iter([0.1, 0.2, 0.3, 0.25, 0.35])
        res = fit("t", {"m": net}, opt, sched, epochs, 64, 16, torch.Generator().manual_seed(0), step, path,
                  {"stage": {"epochs": meta_epochs, "lr": 1e-2}, "upstream": 1},
                  validation=Validation(lambda: {"acc": next(scores)}, "acc", "max"), extendable="stage")
        return net, res

    full, res_full = run(5, tmp_path / "full.pt", 5)
    run(3, tmp_path / "ext.pt", 3)
    net, opt, sched, step = _setup()
    scores = iter([0.25, 0.35])  # only epochs 4 and 5 are scored again
    res = fit("t", {"m": net}, opt, sched, 5, 64, 16, torch.Generator().manual_seed(0), step, tmp_path / "ext.pt",
              {"stage": {"epochs": 5, "lr": 1e-2}, "upstream": 1},
              validation=Validation(lambda: {"acc": next(scores)}, "acc", "max"), extendable="stage")
    assert [r["val_acc"] for r in res.curve] == [r["val_acc"] for r in res_full.curve] and res.best_epoch == 5
    for k, v in net.state_dict().items():
        assert torch.equal(v, full.state_dict()[k])
    # any other change (here: upstream) starts afresh
    net, opt, sched, step = _setup()
    scores = iter([0.5] * 5)
    res = fit("t", {"m": net}, opt, sched, 5, 64, 16, torch.Generator().manual_seed(0), step, tmp_path / "ext.pt",
              {"stage": {"epochs": 5, "lr": 1e-2}, "upstream": 2},
              validation=Validation(lambda: {"acc": next(scores)}, "acc", "max"), extendable="stage")
    assert len(res.curve) == 5 and res.curve[0]["val_acc"] == 0.5


def test_soft_labels_are_thetas_softmax_and_eps_mse_takes_them():
    """diffusion.cond_labels: soft trains E-DiffSem on Theta's soft label of the noisy input it sees."""
    from diffsem.models import family_spec
    from diffsem.models.unet import UNet
    from diffsem.schedule import linear_schedule
    from diffsem.stages import soft_labels
    from diffsem.validation import eps_mse

    torch.manual_seed(0)
    clf = family_spec("table1").classifier().eval()
    f_t, t = torch.randn(6, 1, 8, 8), torch.tensor([1, 50, 100, 200, 300, 500])
    p = soft_labels(clf, f_t, t, 500)
    assert p.shape == (6, 10) and torch.allclose(p.sum(1), torch.ones(6))
    assert torch.allclose(p, torch.softmax(clf(f_t, f_t, (t / 500.0).view(-1, 1)), 1))
    net = UNet(1, 8, 10, 500).eval()
    ab = linear_schedule(500, 1e-4, 2e-2).alpha_bar
    f0 = torch.randn(16, 1, 8, 8)
    seen = []

    def ctx(x, tt):
        seen.append(tt.clone())
        return soft_labels(clf, x, tt, 500)

    with torch.no_grad():
        out = eps_mse(net, f0, ab, 500, ctx)
    assert torch.cat(seen).numel() == 16 and out["eps_mse"] > 0


def test_attackers_continue_at_a_larger_epoch_cap(tmp_path):
    """Raising adversary.epochs continues each point's saved state (train_attackers' extendable):
    the continued run equals an uninterrupted one with the larger cap."""
    from types import SimpleNamespace

    from diffsem.attack import train_attackers

    torch.manual_seed(0)
    x = torch.randint(0, 256, (64, 1, 4, 4), dtype=torch.uint8)
    spec = SimpleNamespace(adversary=lambda: torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(4, 16),
                                                                  torch.nn.Unflatten(1, (1, 4, 4))))
    proj = torch.randn(16, 4)
    calls = []

    def send(rows, t, snr, g):
        calls.append(len(rows))
        return x[rows.cpu()].float().flatten(1) / 255 @ proj + 0.01 * torch.randn(len(rows), 4, generator=g)

    def run(epochs, resume):
        acfg = SimpleNamespace(epochs=epochs, batch_size=16, lr=1e-2, items_per_epoch=0, patience=0)
        meta = {"adversary": {"epochs": epochs, "patience": 0, "lr": 1e-2}}
        return train_attackers(spec, send, x, [(10, 15.0)], acfg, 3, "cpu", "adv", resume, meta)

    run(2, tmp_path / "a")
    calls.clear()
    models, _, curves = run(4, tmp_path / "a")  # continues from epoch 2
    assert sum(calls) == 2 * 64  # two more epochs of queries, not four
    ref, _, ref_curves = run(4, tmp_path / "b")  # uninterrupted
    assert [r["epoch"] for r in curves["10@15"]] == [1, 2, 3, 4]
    for k in ref["10@15"]:
        assert torch.equal(models["10@15"][k], ref["10@15"][k])


def test_attacker_warm_up_delays_selection_patience_and_decay():
    """train_attackers(warmup=k) (``fading.inversion_warmup``): with a validation MSE that never improves,
    the attacker stops one patience after its first selectable epoch, k + 1, not after epoch 1, and its
    learning rate is untouched through the warm-up."""
    from types import SimpleNamespace

    from diffsem.attack import train_attackers

    x = torch.randint(0, 256, (32, 1, 4, 4), dtype=torch.uint8)
    spec = SimpleNamespace(adversary=lambda: torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(16, 16),
                                                                  torch.nn.Unflatten(1, (1, 4, 4))))

    def send(rows, t, snr, g):
        return x[rows.cpu()].float() / 255

    acfg = SimpleNamespace(epochs=10, batch_size=16, lr=0.0, items_per_epoch=0, patience=1)  # lr 0: a flat score

    def curve(warmup):
        _, _, curves = train_attackers(spec, send, x, [(10, 15.0)], acfg, 3, "cpu", "adv", val_send=send, x_val=x,
                                       warmup=warmup)
        return curves["10@15"]

    plain, warm = curve(0), curve(3)
    assert len(plain) == 2 and [r["selected"] for r in plain] == [1, 0]
    assert len(warm) == 5 and [r["selected"] for r in warm] == [0, 0, 0, 1, 0]


def test_a_smaller_cap_or_larger_patience_does_not_reuse_a_longer_run(tmp_path):
    """An extendable state continues only under a cap (and patience) at least as large as it ran with."""
    from diffsem.training import _State, _restore, _save

    net = torch.nn.Linear(2, 1)
    opt = torch.optim.Adam(net.parameters())
    sched = torch.optim.lr_scheduler.ReduceLROnPlateau(opt)
    g = torch.Generator().manual_seed(0)
    meta = {"adversary": {"epochs": 60, "patience": 4, "lr": 1e-3}, "data": {"mirror": "/a"}}
    st = _State(epoch=40, curve=[{"epoch": 40}], best_epoch=38, best_value=0.1)
    path = tmp_path / "r.pt"
    _save(path, meta, {"m": net}, opt, sched, (g,), st)

    def restored(m, epochs):
        return _restore(path, m, {"m": net}, opt, sched, (g,), "adversary", epochs).epoch

    assert restored({**meta, "adversary": {**meta["adversary"], "epochs": 80}}, 80) == 40  # larger cap: continue
    assert restored({**meta, "data": {"mirror": "/moved"}}, 60) == 40  # a moved mirror keeps the state
    assert restored({**meta, "adversary": {**meta["adversary"], "epochs": 30}}, 30) == 0  # ran past 30
    assert restored({**meta, "adversary": {**meta["adversary"], "patience": 2}}, 60) == 0  # less patience now
    assert restored({**meta, "adversary": {**meta["adversary"], "lr": 1e-4}}, 60) == 0  # other settings


def test_warm_up_epochs_are_recorded_but_never_selected():
    """Validation.start_epoch: the best validation score inside the warm-up is not chosen, and the
    warm-up neither counts towards patience nor decays the learning rate."""
    import torch

    from diffsem.training import Validation, fit, make_optimizer

    net = torch.nn.Linear(2, 1)
    opt, lrs = make_optimizer(net.parameters(), 1e-3, mode="max")
    scores = iter([0.9, 0.8, 0.1, 0.3, 0.2, 0.2, 0.2])
    res = fit("warm", {"m": net}, opt, lrs, 7, 8, 4, torch.Generator().manual_seed(0),
              lambda idx: net(torch.ones(idx.numel(), 2)).pow(2).mean(),
              validation=Validation(lambda: {"acc": next(scores)}, "acc", "max", patience=3, start_epoch=2))
    assert res.best_epoch == 4 and len(res.curve) == 7  # epoch 1's 0.9 is in the warm-up; 3 after 4 stops at 7
    assert [r["selected"] for r in res.curve] == [0, 0, 0, 1, 0, 0, 0]


def test_forward_noised_draws_t_from_its_range_and_is_eq_11():
    from diffsem.schedule import linear_schedule
    from diffsem.stages import forward_noised

    ab = linear_schedule(500, 1e-4, 2e-2).alpha_bar.float()
    f0 = torch.randn(4096, 64)
    f_t, t, eps = forward_noised(f0, ab, 500, torch.Generator().manual_seed(0), t_min=401)
    assert int(t.min()) >= 401 and int(t.max()) <= 500 and len(t.unique()) > 90
    a = ab[t].view(-1, 1)
    assert torch.allclose(f_t, a.sqrt() * f0 + (1 - a).sqrt() * eps)
    _, t_all, _ = forward_noised(f0, ab, 500, torch.Generator().manual_seed(0))
    assert int(t_all.min()) >= 1 and int(t_all.min()) < 20 and int(t_all.max()) <= 500


def _constant_gradient_run(ema, epochs, validation_of=None, path=None, meta=None):
    """A weight moved by plain SGD along a constant gradient: after step k it is w0 - k * lr * c.
    ``validation_of(module)`` builds the run's Validation around the module being trained."""
    w = torch.nn.Parameter(torch.full((3,), 2.0))
    holder = torch.nn.Module()
    holder.w = w
    validation = validation_of(holder) if validation_of else None
    opt = torch.optim.SGD([w], lr=0.1)
    sched = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, min_lr=0.1)  # never below lr: the steps stay equal
    c = torch.tensor([1.0, -2.0, 0.5])
    res = fit("t", {"m": holder}, opt, sched, epochs, 32, 8, torch.Generator().manual_seed(0),
              lambda idx: (w * c).sum(), path, meta, validation=validation, ema=ema)
    return holder, res, c


def _ema_of_trajectory(decay, n_steps, c):
    """torch.optim.swa_utils' EMA of the weights after steps 1..n: the first copied, then decay-weighted."""
    avg = None
    for k in range(1, n_steps + 1):
        wk = torch.full((3,), 2.0) - k * 0.1 * c
        avg = wk.clone() if avg is None else decay * avg + (1 - decay) * wk
    return avg


def test_fit_with_ema_ends_with_and_scores_the_moving_average_of_the_weights():
    """fit(ema=d) (decisions §48): the modules end with the exponential moving average of the weights after every
    optimiser step; validation scores the averaged weights while training continues from the trained ones (the
    trajectory stays the constant-gradient line); the selected epoch's state is the average at that epoch."""
    holder, res, c = _constant_gradient_run(0.9, 3)
    assert torch.allclose(holder.w.detach(), _ema_of_trajectory(0.9, 12, c), atol=1e-6)
    seen = []

    def validation_of(module):
        def score():
            seen.append(module.w.detach().clone())
            return {"v": float(-len(seen) if len(seen) == 3 else len(seen))}  # epoch 2 is the best
        return Validation(score, "v", "max")

    holder, res, c = _constant_gradient_run(0.9, 3, validation_of)
    for epoch, w in enumerate(seen, start=1):
        assert torch.allclose(w, _ema_of_trajectory(0.9, 4 * epoch, c), atol=1e-6)
    assert res.best_epoch == 2 and torch.allclose(holder.w.detach(), seen[1])


def test_fit_with_ema_resumes_to_what_an_uninterrupted_run_gives(tmp_path):
    """The moving average is part of the resume state: 2 epochs, then a rerun to 4, equals 4 in one go."""
    meta = {"stage": {"epochs": 4}}
    whole, _, _ = _constant_gradient_run(0.8, 4, path=tmp_path / "whole.pt", meta=meta)
    _constant_gradient_run(0.8, 2, path=tmp_path / "part.pt", meta={"stage": {"epochs": 2}})
    part = torch.load(tmp_path / "part.pt", weights_only=True)
    assert set(part["averaged"]) == {"m"}
    torch.save({**part, "meta": meta}, tmp_path / "part.pt")  # the same run under the larger cap
    resumed, res, _ = _constant_gradient_run(0.8, 4, path=tmp_path / "part.pt", meta=meta)
    assert len(res.losses) == 4 and torch.equal(resumed.w.detach(), whole.w.detach())

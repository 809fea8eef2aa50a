import torch

from diffsem.pipeline import Link, Receivers
from diffsem.schedule import linear_schedule

S = linear_schedule(500, 1e-4, 0.02)


class FixedClassifier(torch.nn.Module):
    """Bypass classifier: logits from the first feature; f_hat-classifier: logits from f_hat's mean."""

    def forward(self, z, f, t):
        return torch.stack([f.flatten(1).mean(1), -f.flatten(1).mean(1)], 1)


class CountingUNet(torch.nn.Module):
    """Predicts zero noise but shifts samples towards the label in the context; counts calls."""

    def __init__(self):
        super().__init__()
        self.calls = []

    def forward(self, x, t, context=None):
        self.calls.append(x.shape[0])
        return torch.zeros_like(x) if context is None else -(context[:, :1] - 0.5).view(-1, 1, 1, 1).expand_as(x)


def test_ediffsem_stops_per_sample():
    unet = CountingUNet()
    clf = FixedClassifier()
    rx = Receivers(S, clf, unet, clf, unet, clf, max_steps=2, max_iters=5)
    z = torch.randn(8, 1, 8, 8)
    logits, passes = rx.ediffsem_logits(z, 100, 100, 1.0)
    assert logits.shape == (8, 2)
    assert passes.min() >= 1 and passes.max() <= 5
    # only still-changing samples are recomputed: later passes use smaller batches
    per_pass = unet.calls[::2]  # 2 DDIM steps per pass
    assert per_pass[0] == 8 and all(a >= b for a, b in zip(per_pass, per_pass[1:]))


def test_receive_step_identity_when_compensated():
    link = Link(torch.nn.Identity(), S)
    assert link.receive_step(300, 15.0) == (300, 1.0) or link.receive_step(300, 15.0)[0] == 300
    t_s, _ = link.receive_step(0, 15.0)
    assert t_s > 0  # channel noise alone still needs denoising at T' = 0
    assert link.receive_step(0, None) == (0, 1.0)

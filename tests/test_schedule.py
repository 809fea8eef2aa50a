import math

import pytest
import torch

from diffsem.schedule import esnr_db, linear_schedule, t_for_esnr_db


@pytest.fixture(scope="module")
def sched():
    return linear_schedule(500, 1e-4, 0.02)


@pytest.mark.parametrize("t,db,tol", [(184, 0.01, 0.03), (150, 2.3, 0.05), (67, 10.0, 0.1), (344, -10.0, 0.1)])
def test_paper_esnr_values(sched, t, db, tol):
    """The paper's own ESNR numbers (Fig. 3, Fig. 6 rows, Sec. IV-C) pin the 1-indexed schedule."""
    assert abs(float(sched.esnr_db(t)) - db) < tol


def test_closed_form(sched):
    assert sched.T == 500
    assert sched.alpha_bar[0] == 1.0 and sched.betas[0] == 0.0
    assert math.isclose(float(sched.betas[1]), 1e-4) and math.isclose(float(sched.betas[500]), 0.02)
    # Eq. 12: constant increments
    d = torch.diff(sched.betas[1:])
    assert torch.allclose(d, torch.full_like(d, (0.02 - 1e-4) / 499))
    # alpha_bar_t = prod_{s<=t} (1 - beta_s), 1-indexed
    for t in (1, 2, 67, 500):
        want = math.prod(1 - (1e-4 + (0.02 - 1e-4) * (s - 1) / 499) for s in range(1, t + 1))
        assert math.isclose(float(sched.alpha_bar[t]), want, rel_tol=1e-12)
    assert torch.all(torch.diff(sched.alpha_bar) < 0)


def test_zero_indexed_would_not_match(sched):
    # the 0-indexed reading (alpha_bar_t = prod_{s<t}) shifts the pinned points by one step, which
    # moves t=184 off 0.01 dB by more than the tolerance we use: the indexing decision matters
    assert abs(float(esnr_db(sched.alpha_bar[183])) - 0.01) > 0.03


def test_t_for_esnr(sched):
    assert t_for_esnr_db(sched, 0.0) == 184
    assert t_for_esnr_db(sched, 10.0) == 67
    assert t_for_esnr_db(sched, -10.0) == 344


@pytest.mark.parametrize("args", [(0, 1e-4, 0.02), (10, 0.0, 0.02), (10, 0.03, 0.02), (10, 1e-4, 1.0)])
def test_bad_schedule(args):
    with pytest.raises(ValueError):
        linear_schedule(*args)

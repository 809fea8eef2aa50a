"""scripts/results_table.py's learning-curve verdicts on hand-made curves (fast; the smoke run's tables are
tests/test_smoke_dag.py::test_results_table_prints_a_finished_run_and_the_curves_of_one_in_progress)."""

from pathlib import Path

import numpy as np
import pandas as pd

from diffsem.config import load_config
from diffsem.stages import Paths
from script_modules import load_script

REPO = Path(__file__).parents[1]


def _curve(path: Path, values, cap: int) -> None:
    """A U-Net-style curve (val_eps_mse, lower is better) with its best epoch marked selected."""
    v = np.asarray(values, float)
    pd.DataFrame({"epoch": np.arange(1, v.size + 1), "loss": v, "val_eps_mse": v, "max_epochs": cap,
                  "selected": (np.arange(v.size) == v.argmin()).astype(int)}).to_csv(path, index=False)


def test_a_curve_that_ran_to_its_cap_is_called_flat_or_under_trained_by_its_tail_slope(tmp_path, capsys):
    """A run that the cap ended (not its patience) is read by the slope of its last 10 epochs
    (stats.tail_trend): a tail whose interval holds zero is 'flat', one falling throughout is under-trained
    even though its best epoch came before the cap; an early-stopped curve stays 'early-stopped'."""
    run = Paths.of(tmp_path, load_config(REPO / "params.yaml", "cpu", "mnist", 0))
    cdir = run.dir("reports") / "curves"
    cdir.mkdir(parents=True)
    wiggle = np.tile([0.0, 0.002, -0.002, 0.001], 3)[:10]
    flat = np.r_[np.linspace(0.3, 0.1, 30), 0.1 + wiggle]
    falling = 0.3 - 0.004 * np.arange(40) + np.tile([0.0, 0.003], 20)
    for curve in (flat, falling):
        curve[36] -= 0.01  # the best epoch, 37, three before the cap
    _curve(cdir / "unet_flat.csv", flat, 40)
    _curve(cdir / "unet_falling.csv", falling, 40)
    _curve(cdir / "unet_stopped.csv", np.r_[np.linspace(0.3, 0.1, 20), 0.1 + wiggle], 40)
    load_script("results_table").curves(run)
    rows = {r.split(" | ")[0].lstrip("| "): r for r in capsys.readouterr().out.splitlines() if r.startswith("| unet_")}
    assert "ran to the cap, best 3 epoch(s) before it; flat over its last 10 epochs" in rows["unet_flat"]
    assert "ran to the cap, best 3 epoch(s) before it; still improving: under-trained" in rows["unet_falling"]
    assert rows["unet_stopped"].endswith("| early-stopped on a plateau |")
    assert ": flat |" in rows["unet_stopped"] and ": still improving |" in rows["unet_falling"]

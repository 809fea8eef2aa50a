"""The precision/execution variants bench (diffsem.bench_variants) on CPU at a toy size: the GPU-only
variants are skipped there, fp32 matches the float64 reference to rounding and bf16 to its tolerance."""

import pytest

import json

from diffsem import bench_variants


def test_variants_bench_on_cpu(tmp_path):
    out = tmp_path / "bv.json"
    assert bench_variants.main(["--out", str(out), "--datasets", "mnist", "--n-feat", "8", "--batch", "4",
                                "--repeats", "1", "--device", "cpu", "--max-steps", "5"]) == 0
    res = json.loads(out.read_text())
    assert res["receiver"][0]["steps"] == 5 and res["receiver"][0]["t_start"] == 150  # five steps keep the test short
    unc = res["receiver"][0]["variants"]
    assert set(unc) == {"fp32", "tf32", "bf16", "bf16+cl"}  # graphs and compile: CUDA only
    assert unc["fp32"]["rel_err_vs_fp64"] < 1e-5
    assert 1e-5 < unc["bf16"]["rel_err_vs_fp64"] < 1e-2  # bf16 really ran, and stayed within 1 %
    assert set(res["training"]["mnist"]) == {"jscc", "unet-uncond", "unet-cond", "adversary", "strong"}
    assert all(v["fp32"] > 0 for v in res["training"]["mnist"].values())


@pytest.mark.parametrize("argv", [["--t-start", "0"], ["--t-start", "501"], ["--max-steps", "0"]])
def test_variants_bench_refuses_an_impossible_reverse_pass(argv, tmp_path, capsys):
    with pytest.raises(SystemExit) as e:
        bench_variants.main(["--out", str(tmp_path / "bv.json"), "--device", "cpu", *argv])
    assert e.value.code == 2 and "--t-start must lie in [1, 500]" in capsys.readouterr().err
    assert not (tmp_path / "bv.json").exists()

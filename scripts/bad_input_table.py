"""Run every catalogued bad input (tests/bad_inputs.py) and print the markdown table of docs/robustness.md."""

import contextlib
import io
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from bad_inputs import CASES, materialise  # noqa: E402

from diffsem.cli import main  # noqa: E402


def run() -> None:
    mirror = (REPO.parent / "shared" / "datasets").resolve()
    print("| # | bad input | command | exit | message |")
    print("|---|---|---|---|---|")
    for i, case in enumerate(CASES, 1):
        with tempfile.TemporaryDirectory() as tmp:
            argv = materialise(case, Path(tmp), REPO, mirror)
            err = io.StringIO()
            with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
                code = main(argv)
            msg = err.getvalue().strip().replace(tmp, "<root>").replace("|", "\\|")
            print(f"| {i} | {case.name} | `diffsem {' '.join(case.argv)}` | {code} | `{msg}` |")


if __name__ == "__main__":
    run()

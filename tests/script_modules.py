"""The repository's scripts/ as modules, for tests of their functions."""

import importlib
import sys
from pathlib import Path

SCRIPTS = Path(__file__).parents[1] / "scripts"


def load_script(name: str):
    """Import scripts/<name>.py; scripts/ is on the path while it loads, so a script that imports a sibling
    (core_summary imports results_table) loads too."""
    sys.path.insert(0, str(SCRIPTS))
    try:
        return importlib.import_module(name)
    finally:
        sys.path.remove(str(SCRIPTS))

"""DiffSem: diffusion-aided task-oriented semantic communication under model-inversion attack.

The package is split so that the maths knows nothing about networks and networks know nothing
about the maths: ``schedule`` (Eqs. 9-13), ``channel`` (power normalisation, AWGN),
``self_noising`` (Eqs. 17, 19-24), ``sampler`` (DDIM, Eq. 16), ``models/*`` (Tables I-III) and
``receiver`` composes them into the Classifier / DiffSem / E-DiffSem receivers (Alg. 2).
"""

__version__ = "0.1.0"


def __getattr__(name: str):
    """``diffsem.load`` / ``diffsem.TrainedRun`` (trained.py), imported on first use so that importing the
    package (the Snakefile reads diffsem.figure_names) stays free of torch."""
    if name in ("load", "TrainedRun"):
        from . import trained

        return getattr(trained, name)
    raise AttributeError(f"module 'diffsem' has no attribute {name!r}")

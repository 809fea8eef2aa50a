"""Which figure files each dataset gets (read by the Snakefile too, so nothing heavy is imported).

MNIST gets the paper's Figs. 3-8; CIFAR-10 its Figs. 9-11; any other catalog dataset the generic set
(``GENERIC``) under descriptive names. CIFAR-10's Figs. 9-11 are the MNIST Figs. 4-6 drawn
for CIFAR-10 (Fig. 11's rows are at eval.fig6_t, set to 60/150/300 for CIFAR-10 in params.yaml).
Roles: ``schedule`` (Fig. 3), ``accuracy_vs_t`` (4/9), ``accuracy_vs_ssim_psnr`` (5/10),
``adversary_images`` (6/11), ``direct_permutation`` (7, only when either baseline runs),
``snr_robustness`` (8), and ``learning_curves`` (ours, every dataset: each DiffSem training stage's
training loss and validation metric per epoch, the selected epoch marked) and ``privacy_utility`` (ours,
every dataset: receiver accuracy against the attacker on the same transmitter, one curve per system) and
``attack_study`` (ours, every dataset: the attackers under a worse eavesdropper channel, fewer queries and
surrogate data at the headline points; attack_study.py) and ``fading`` (ours, every dataset: receivers and
attackers on a Rayleigh block-fading link against its mean SNR; fading_eval.py).
"""

from __future__ import annotations

FIGURES: dict[str, dict[str, str]] = {
    "mnist": {
        "schedule": "fig3_schedule",
        "accuracy_vs_t": "fig4_accuracy_vs_t",
        "accuracy_vs_ssim_psnr": "fig5_accuracy_vs_ssim_psnr",
        "adversary_images": "fig6_adversary_images",
        "direct_permutation": "fig7_direct_permutation",
        "snr_robustness": "fig8_snr_robustness",
        "learning_curves": "curves",
        "privacy_utility": "privacy_utility",
        "attack_study": "attack_study",
        "fading": "fading",
    },
    "cifar10": {
        "accuracy_vs_t": "fig9_accuracy_vs_t",
        "accuracy_vs_ssim_psnr": "fig10_accuracy_vs_ssim_psnr",
        "adversary_images": "fig11_adversary_images",
        "learning_curves": "curves",
        "privacy_utility": "privacy_utility",
        "attack_study": "attack_study",
        "fading": "fading",
    },
}


# the DiffSem pipeline's learning curves (reports/<ds>/seed<k>/curves/<name>.csv) and what each panel shows
CURVES = ("jscc", "unet_uncond", "unet_cond", "adversary", "strong", "finetune_classifier-ft", "finetune_diffsem",
          "finetune_e-diffsem", "ceiling", "semantic", "prior_unet")


# any other catalog dataset: the generic figures under descriptive names
GENERIC: dict[str, str] = {
    "accuracy_vs_t": "accuracy_vs_t",
    "accuracy_vs_ssim_psnr": "accuracy_vs_ssim_psnr",
    "adversary_images": "adversary_images",
    "direct_permutation": "direct_permutation",
    "snr_robustness": "snr_robustness",
    "learning_curves": "curves",
    "privacy_utility": "privacy_utility",
    "attack_study": "attack_study",
    "fading": "fading",
}


def figure_files(dataset: str, baselines: list[str] | tuple[str, ...]) -> dict[str, str]:
    """role -> file stem for ``dataset`` given the configured baseline systems (the paper's figure
    numbers for MNIST and CIFAR-10, descriptive names for any other dataset)."""
    figs = dict(FIGURES.get(dataset, GENERIC))
    if not {"direct", "permutation"} & set(baselines):
        figs.pop("direct_permutation", None)
    return figs

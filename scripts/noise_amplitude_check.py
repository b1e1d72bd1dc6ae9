"""An experiment, not a feature: the noise of a model with noise layers scaled, pixel by pixel, by
the fine detail of the known pixels around it, at completion only (docs/adversarial.md, section 12).

    python scripts/noise_amplitude_check.py scripts/rect_check.py accurate MODEL... -o sheet.png
    python scripts/noise_amplitude_check.py scripts/validate_snapshots.py RUN --data data/photos/validation
    python scripts/noise_amplitude_check.py glcic train ...     # glcic itself, training included

Runs the given script (or `glcic`) with `network_input` wrapped where completion and training call
it (`glcic.inference.complete`, `glcic.training.phases`): before the network,
each noise map is multiplied by the amplitude of `amplitude` (the luminance's detail, |image - its
2 px blur|, over the known pixels at least 4 px from the hole, spread by a normalised Gaussian of
12 px and divided by REFERENCE, clipped to [0, 1.5]). A sky gets no grain by construction; a rock
gets about the grain the model was trained with. Nothing is trained with it, and a window is no
longer exactly the whole image's (the spread reaches beyond the network's reach): it answers
whether the idea is worth building into the model and its training.
"""

from __future__ import annotations

import os
import runpy
import sys

import torch
import torch.nn.functional as F

REFERENCE = float(os.environ.get("AMPLITUDE_REFERENCE", "0.03"))  # a rock's mean detail, about
SPREAD = 12.0  # px


def amplitude(image: torch.Tensor, hole: torch.Tensor) -> torch.Tensor:
    """(B, 1, H, W) in [0, 1.5]: the known pixels' detail around each pixel, image (B, 3, H, W), hole (B, 1, H, W)."""
    from glcic.losses import low_pass
    from glcic.pixels import LUMA

    known = -F.max_pool2d(-(1 - hole), 9, stride=1, padding=4)  # known pixels 4 px from any hole pixel
    luma = (image * image.new_tensor(LUMA).view(1, 3, 1, 1)).sum(dim=1, keepdim=True)
    detail = (luma - low_pass(luma, 2.0)).abs() * known
    spread = low_pass(detail, SPREAD) / low_pass(known, SPREAD).clamp_min(1e-4)
    return (spread / REFERENCE).clamp(0, 1.5)


def main() -> None:
    import glcic.inference.complete as complete
    import glcic.training.phases as phases
    from glcic.models.completion import network_input

    def scaled(image, hole, mean_pixel, noise=None):
        if noise is not None:
            noise = noise * amplitude(image.float(), hole.float()).to(noise.dtype)
        return network_input(image, hole, mean_pixel, noise)

    complete.network_input = phases.network_input = scaled
    if sys.argv[1] == "glcic":
        from glcic.cli import main as glcic

        sys.exit(glcic(sys.argv[2:]))
    script, sys.argv = sys.argv[1], sys.argv[1:]
    runpy.run_path(script, run_name="__main__")


if __name__ == "__main__":
    main()

"""The sizes of the context discriminators (Table 3), without loading torch: `TrainConfig` checks
its fields against them, and `glcic train --help` must answer without torch."""

from __future__ import annotations

from dataclasses import dataclass

MAX_FEATURE_SIDE = 5  # the discriminators halve their input until the feature map is at most this many px
NORMS = ("batch", "spectral", "none")  # see glcic.models.discriminators


@dataclass(frozen=True)
class DiscriminatorConfig:
    """The sizes of the context discriminators of Table 3 (and the Fig. 6 ablation switches)."""

    global_size: int = 256  # side the whole image is resized to for the global discriminator
    local_size: int = 128  # side of the local patch centred on the hole
    width: float = 1.0  # channel multiplier of both discriminators
    use_global: bool = True  # ablation switches (Fig. 6)
    use_local: bool = True
    norm: str = "batch"  # the paper's batch norm, "spectral" or "none" (see glcic.models.discriminators)
    antialias: bool = False  # a fixed low-pass before every stride-2 conv (see glcic.models.discriminators.Blur)
    hole_channel: bool = False  # the local discriminator also sees the hole mask, as a 4th channel
    patches: bool = False  # the local discriminator alone, a logit per cell (see glcic.models.discriminators.LocalDiscriminator)


DISCRIMINATOR_PRESETS: dict[str, DiscriminatorConfig] = {
    "paper": DiscriminatorConfig(global_size=256, local_size=128),  # section 3.2, Table 3
    "faces": DiscriminatorConfig(global_size=160, local_size=96),  # section 4.5: one conv fewer in global
}

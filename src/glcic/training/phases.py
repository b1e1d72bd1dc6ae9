"""Algorithm 1 of the paper: three training phases as plain data, and one small step per phase.

1. `completion` (iterations [0, T_C)): the completion network alone, weighted MSE.
2. `discriminator` ([T_C, T_C + T_D)): the context discriminators alone, binary cross-entropy; the
   completion network is fixed (run without gradients).
3. `joint` ([T_C + T_D, T_train)): both; the discriminators step on the current completions, then
   the completion network steps on MSE + alpha x adversarial loss.

With the discriminators ablated (`discriminators="none"`, Fig. 6 "weighted MSE only") phase 1 runs
for all T_train iterations.

What other ports got wrong and these steps do not: the discriminators see the composite
x * (1 - M_c) + C(x) * M_c, never the raw output; each sample's local patch is centred on its own
hole, and the real image's patch is its own random box M_d; no gradient crosses between the two
networks: the discriminator update sees `composite.detach()`, the completion update runs the
discriminators with `requires_grad` off, and every step starts with `zero_grad(set_to_none=True)`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import torch
import torch.nn.functional as F

from glcic.devices import autocast
from glcic.losses import RECONSTRUCTION_LOSSES, adversarial_loss, discriminator_loss, feature_matching, gradient_penalty, grid_prior, low_pass
from glcic.models.completion import composite, network_input, noise_maps
from glcic.local_detail import detail_loss
from glcic.style import filter_bank, style_loss


@dataclass(frozen=True)
class Phase:
    name: str  # "completion", "discriminator" or "joint"
    start: int  # first iteration of the phase
    end: int  # one past its last iteration


def training_phases(config) -> list[Phase]:
    if not config.adversarial:
        return [Phase("completion", 0, config.total_iterations)]
    t_c, t_d = config.completion_iterations, config.discriminator_iterations
    phases = [Phase("completion", 0, t_c), Phase("discriminator", t_c, t_c + t_d), Phase("joint", t_c + t_d, config.total_iterations)]
    return [phase for phase in phases if phase.end > phase.start]


def phase_at(phases: list[Phase], iteration: int) -> Phase:
    for phase in phases:
        if phase.start <= iteration < phase.end:
            return phase
    raise ValueError(f"iteration {iteration} is past the last phase (ends at {phases[-1].end})")


def unwrap(module: torch.nn.Module) -> torch.nn.Module:
    """The network inside a DistributedDataParallel wrapper (or the module itself)."""
    return getattr(module, "module", module)


@dataclass
class Networks:
    """What the steps need: both networks (possibly DDP-wrapped), their optimizers, and settings."""

    completion: torch.nn.Module
    discriminator: torch.nn.Module | None
    completion_optimizer: torch.optim.Optimizer
    discriminator_optimizer: torch.optim.Optimizer | None
    config: object  # TrainConfig
    mean_pixel: torch.Tensor  # (1, 3, 1, 1)

    def autocast(self, device: torch.device):
        return autocast(device, self.config.precision)


@dataclass
class Batch:
    image: torch.Tensor  # (B, 3, S, S) float in [0, 1]: the real image x
    hole: torch.Tensor  # (B, 1, S, S) float, 1 = hole (M_c)
    hole_patch: torch.Tensor  # (B, 2) top, left of the local box centred on each hole
    real_patch: torch.Tensor  # (B, 2) top, left of each real image's random local box (M_d)

    @classmethod
    def from_loader(cls, sample: dict, device: torch.device, channels_last: bool = False) -> "Batch":
        memory_format = torch.channels_last if channels_last else torch.contiguous_format
        image = sample["image"].to(device, non_blocking=True).float().div_(255).contiguous(memory_format=memory_format)
        hole = sample["hole"].to(device, non_blocking=True).float().contiguous(memory_format=memory_format)
        return cls(image, hole, sample["hole_patch"].tolist(), sample["real_patch"].tolist())



def local_patches(images: torch.Tensor, corners, size: int) -> torch.Tensor:
    """Each sample's own `size` x `size` patch at its (top, left): (B, 3, size, size)."""
    return torch.stack([images[i, :, top : top + size, left : left + size] for i, (top, left) in enumerate(corners)])


def shift_images(images: torch.Tensor, most: int) -> torch.Tensor:
    """Each image moved by its own random whole-pixel offset in [-most, most] on both axes, the
    uncovered border filled by reflection (torch's global RNG, which checkpoints keep). The
    discriminators see real and completed images shifted alike, so where a pattern sits on the
    pixel grid tells them nothing: without this, their strided convolutions reward the completion
    network for a fixed-phase grid (measured in docs/adversarial.md)."""
    if most <= 0:
        return images
    size_y, size_x = images.shape[-2:]
    padded = F.pad(images, (most, most, most, most), mode="reflect")
    offsets = torch.randint(0, 2 * most + 1, (images.shape[0], 2)).tolist()
    return torch.stack([padded[i, :, dy : dy + size_y, dx : dx + size_x] for i, (dy, dx) in enumerate(offsets)])


def discriminator_logits(discriminator: torch.nn.Module, images: torch.Tensor, corners, config, shift: bool = True,
                         hole: torch.Tensor | None = None) -> torch.Tensor:
    """(B, 1) logits of the context discriminator on whole images plus their local patches (in
    training, both moved by `config.discriminator_shift` px at most; `shift=False` for scoring).
    With `config.discriminator_hole` the local patches carry `hole` (B, 1, S, S) as a 4th channel,
    moved with the images."""
    if config.discriminator_hole:
        if hole is None:
            raise ValueError("a discriminator that sees the hole needs the hole mask")
        images = torch.cat([images, hole.to(images.dtype)], dim=1)
    if shift and config.discriminator_shift:
        images = shift_images(images, config.discriminator_shift)
    rgb = images[:, :3]
    whole = None
    if config.use_global:
        whole = rgb
        if rgb.shape[-1] != config.global_size or rgb.shape[-2] != config.global_size:
            whole = F.interpolate(rgb, size=(config.global_size,) * 2, mode="bilinear", antialias=True, align_corners=False)
    patches = local_patches(images, corners, config.local_size) if config.use_local else None
    return discriminator(whole, patches, return_logits=True)  # (B, 1)


def real_and_fake_logits(discriminator: torch.nn.Module, batch: Batch, composite: torch.Tensor, config) -> tuple[torch.Tensor, torch.Tensor]:
    """The discriminators' (B, 1) logits on the real images (patches M_d) and on the composites
    (patches centred on their holes): in two batches, or, with `discriminator_batch="mixed"`, in one.
    With `discriminator_hole` a real image's patch is at its own hole's place, with that hole's mask:
    the discriminator is asked which of the two has a filled hole, as the realism judge is."""
    real_corners = batch.hole_patch if config.discriminator_hole else batch.real_patch
    if config.discriminator_batch == "mixed":
        both = discriminator_logits(discriminator, torch.cat([batch.image, composite]), [*real_corners, *batch.hole_patch], config,
                                    hole=torch.cat([batch.hole, batch.hole])).float()
        return both[: len(batch.image)], both[len(batch.image):]
    real = discriminator_logits(discriminator, batch.image, real_corners, config, hole=batch.hole).float()
    return real, discriminator_logits(discriminator, composite, batch.hole_patch, config, hole=batch.hole).float()


def paired_accuracy(real: torch.Tensor, fake: torch.Tensor) -> float:
    """The share of real images (or, with a patch discriminator, of cells) scored above their own
    completion, among those scored differently: a cell that sees no hole scores the two alike."""
    decided = real != fake
    return ((real > fake) & decided).sum().item() / max(int(decided.sum().item()), 1)


def complete_batch(completion: torch.nn.Module, batch: Batch, networks: Networks) -> tuple[torch.Tensor, torch.Tensor]:
    """C(x, M_c) in float32 and the composite x * (1 - M_c) + C(x) * M_c that the discriminators see."""
    noise = noise_maps(unwrap(completion).noise, *batch.hole[:, 0].shape, device=batch.hole.device)  # None without noise layers
    output = completion(network_input(batch.image, batch.hole, networks.mean_pixel, noise)).float()  # (B, 3, S, S)
    return output, composite(batch.image, output, batch.hole)


def completion_step(networks: Networks, batch: Batch, device: torch.device) -> dict[str, float]:
    """Phase 1: one update of the completion network on the weighted MSE (or L1, as configured)."""
    networks.completion.train()
    networks.completion_optimizer.zero_grad(set_to_none=True)
    with networks.autocast(device):
        output, _ = complete_batch(networks.completion, batch, networks)
    name = networks.config.reconstruction_loss
    loss = RECONSTRUCTION_LOSSES[name](output, batch.image, batch.hole)
    loss.backward()
    networks.completion_optimizer.step()
    return {name: loss.item()}


def discriminator_update(networks: Networks, batch: Batch, composite: torch.Tensor, device: torch.device) -> dict[str, float]:
    """One update of the context discriminators: real x with random patches M_d -> 1, composites
    with patches centred on their holes -> 0. `composite` is detached here, so no gradient reaches
    the completion network."""
    discriminator, config = networks.discriminator, networks.config
    discriminator.train()
    networks.discriminator_optimizer.zero_grad(set_to_none=True)
    completed = composite.detach()
    if config.gradient_penalty:  # the penalty differentiates the logits with respect to both inputs
        batch = replace(batch, image=batch.image.detach().requires_grad_(True))
        completed.requires_grad_(True)
    with networks.autocast(device):
        real, fake = real_and_fake_logits(discriminator, batch, completed, config)
    classification = loss = discriminator_loss(real, fake, config.generator_loss)
    penalties = {}
    if config.gradient_penalty:
        penalties = {"r1": gradient_penalty(real, batch.image), "r2": gradient_penalty(fake, completed)}
        loss = classification + config.gradient_penalty / 2 * (penalties["r1"] + penalties["r2"])
    loss.backward()
    networks.discriminator_optimizer.step()
    return {
        **{name: value.item() for name, value in penalties.items()},
        "discriminator": classification.item(),  # without the gradient penalty, comparable across runs
        "real_score": torch.sigmoid(real).mean().item(),  # D's mean probability that a real image is real
        "fake_score": torch.sigmoid(fake).mean().item(),  # ... and that a completion is real
        # the judge's question, pair by pair: the share of real images scored above their own completion
        "paired_accuracy": paired_accuracy(real, fake),
    }


def discriminator_step(networks: Networks, batch: Batch, device: torch.device) -> dict[str, float]:
    """Phase 2: the discriminators alone; the completion network only makes completions."""
    completion = unwrap(networks.completion)  # no DDP bookkeeping for a forward without backward
    completion.train()  # same batch statistics as in the joint phase; its weights do not change
    with torch.no_grad(), networks.autocast(device):
        _, composite = complete_batch(completion, batch, networks)
    return discriminator_update(networks, batch, composite, device)


def completion_update(networks: Networks, batch: Batch, output: torch.Tensor, composite: torch.Tensor, device: torch.device) -> dict[str, float]:
    """The completion network's half of a joint step: MSE + alpha x adversarial loss.

    The discriminators run with `requires_grad` off, so this backward pass writes no gradient into
    them; with `balance_gradients`, the adversarial weight is chosen each step so that its gradient
    at the completion network's output has `balance_ratio` times the norm of the MSE's gradient
    (the paper keeps the two "roughly the same order of magnitude")."""
    config = networks.config
    discriminator = unwrap(networks.discriminator)  # its weights are in sync across processes
    discriminator.train()
    for parameter in discriminator.parameters():
        parameter.requires_grad_(False)
    try:
        with networks.autocast(device):
            real = None
            if config.discriminator_batch == "mixed" or config.generator_loss == "relativistic":
                # mixed: the same batch statistics as the discriminators' own update
                real, fake = real_and_fake_logits(discriminator, batch, composite, config)
            else:
                fake = discriminator_logits(discriminator, composite, batch.hole_patch, config, hole=batch.hole).float()
        blur = config.reconstruction_blur
        reconstruction = RECONSTRUCTION_LOSSES[config.reconstruction_loss](low_pass(output, blur), low_pass(batch.image, blur), batch.hole)
        adversarial = adversarial_loss(fake, config.generator_loss, real)
        weight = config.alpha
        stats = {}
        if config.balance_gradients:
            (reconstruction_gradient,) = torch.autograd.grad(reconstruction, output, retain_graph=True)
            (adversarial_gradient,) = torch.autograd.grad(adversarial, output, retain_graph=True)
            ratio = (reconstruction_gradient.norm() / adversarial_gradient.norm().clamp_min(1e-12)).item()
            weight = config.balance_ratio * ratio
            stats["adversarial_weight"] = weight
        loss = reconstruction + weight * adversarial
        if config.grid_weight:
            grid = grid_prior(output, batch.hole, config.grid_tile, config.grid_period)
            loss = loss + config.grid_weight * grid
            stats["grid"] = grid.item()
        if config.feature_matching and config.use_local:
            matching = matched_features(networks, batch, composite, device)
            loss = loss + config.feature_matching * matching
            stats["feature_matching"] = matching.item()
        if config.style_weight:
            style = hole_style(networks, batch, composite)
            loss = loss + config.style_weight * style
            stats["style"] = style.item()
        if config.detail_weight:
            detail = detail_loss(output, batch.image, batch.hole)
            loss = loss + config.detail_weight * detail
            stats["detail"] = detail.item()
        networks.completion_optimizer.zero_grad(set_to_none=True)
        loss.backward()
        networks.completion_optimizer.step()
    finally:
        for parameter in discriminator.parameters():
            parameter.requires_grad_(True)
    return {config.reconstruction_loss: reconstruction.item(), "adversarial": adversarial.item(), **stats}


def matched_features(networks: Networks, batch: Batch, composite: torch.Tensor, device: torch.device) -> torch.Tensor:
    """`glcic.losses.feature_matching` between the local discriminator's features of each completed
    patch and of the original's same patch (centred on the hole, unshifted), the two in one batch so
    that batch norm gives them the same statistics."""
    size = networks.config.local_size
    patches = torch.cat([local_patches(batch.image, batch.hole_patch, size), local_patches(composite, batch.hole_patch, size)])
    if networks.config.discriminator_hole:
        holes = local_patches(batch.hole, batch.hole_patch, size)
        patches = torch.cat([patches, torch.cat([holes, holes]).to(patches.dtype)], dim=1)
    with networks.autocast(device):
        maps = unwrap(networks.discriminator).local_discriminator.feature_maps(patches)
    count = len(batch.image)
    return feature_matching([m[count:] for m in maps], [m[:count] for m in maps])


def hole_style(networks: Networks, batch: Batch, composite: torch.Tensor) -> torch.Tensor:
    """`glcic.style.style_loss` between each composite's local patch (centred on its hole) and the
    original's same patch, over the hole. The filter bank is made once per device."""
    size = networks.config.local_size
    banks = _STYLE_BANKS.get(composite.device)
    if banks is None:
        banks = _STYLE_BANKS[composite.device] = filter_bank(composite.device)
    return style_loss(local_patches(composite, batch.hole_patch, size), local_patches(batch.image, batch.hole_patch, size),
                      local_patches(batch.hole, batch.hole_patch, size), banks)


_STYLE_BANKS: dict[torch.device, list[torch.Tensor]] = {}


def joint_step(networks: Networks, batch: Batch, device: torch.device) -> dict[str, float]:
    """Phase 3: the discriminators step on the current completions, then the completion network."""
    networks.completion.train()
    with networks.autocast(device):
        output, composite = complete_batch(networks.completion, batch, networks)
    stats = discriminator_update(networks, batch, composite, device)
    return {**stats, **completion_update(networks, batch, output, composite, device)}


STEPS = {"completion": completion_step, "discriminator": discriminator_step, "joint": joint_step}

"""How hard the adversarial term pushes, and where: from a run's checkpoint, the gradients of the
reconstruction term and of alpha x the adversarial term at the completion network's output, inside
the hole (norms, their ratio, the share of each above a sigma-2 low-pass), over a few seeded
training batches; and the share of hole pixels that lie inside the local discriminator's box.

    python scripts/adversarial_gradient.py ~/glcic-runs/real-gp1f [--picture grads.png]

The picture: per column one batch image; rows the photo, the completion, the adversarial
gradient's step (signed, grey = 0), its magnitude, and the hole.
"""

from __future__ import annotations

import argparse
import statistics

import torch


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run", help="a run folder with checkpoint.pt")
    parser.add_argument("--batches", type=int, default=6)
    parser.add_argument("--picture", help="write the gradients of the last batch as an image")
    args = parser.parse_args()

    from glcic.data import TrainingImages
    from glcic.image_io import list_images
    from glcic.losses import RECONSTRUCTION_LOSSES, adversarial_loss, low_pass
    from glcic.training import distributed, loop
    from glcic.training.checkpoint import load_checkpoint
    from glcic.training.config import TrainConfig
    from glcic.training.phases import Batch, complete_batch, real_and_fake_logits, unwrap

    state = load_checkpoint(args.run)
    config = state["config"] if isinstance(state["config"], TrainConfig) else TrainConfig.from_dict(state["config"])
    world = distributed.World()
    networks = loop._build_networks(config, world, state)
    dataset = TrainingImages(list_images(config.data, recursive=True), config.data_config(), seed=5)
    generator = torch.Generator().manual_seed(0)
    discriminator = unwrap(networks.discriminator)
    discriminator.train()
    discriminator.requires_grad_(False)
    rows, inside, holes = [], [], []
    for number in range(args.batches):
        indices = torch.randint(len(dataset), (config.batch_size,), generator=generator).tolist()
        samples = [dataset[(number, index)] for index in indices]
        batch = Batch.from_loader({key: torch.stack([s[key] for s in samples]) for key in samples[0]}, world.device)
        networks.completion.train()
        output, composite = complete_batch(networks.completion, batch, networks)
        real, fake = real_and_fake_logits(discriminator, batch, composite, config)
        reconstruction = RECONSTRUCTION_LOSSES[config.reconstruction_loss](output, batch.image, batch.hole)
        adversarial = config.alpha * adversarial_loss(fake, config.generator_loss, real)
        (from_reconstruction,) = torch.autograd.grad(reconstruction, output, retain_graph=True)
        (from_adversarial,) = torch.autograd.grad(adversarial, output)
        hole = batch.hole

        def norm(x):
            return (x * hole).norm().item()

        def high(x):
            return x - low_pass(x, 2.0)

        rows.append((norm(from_reconstruction), norm(from_adversarial),
                     norm(high(from_reconstruction)) / norm(from_reconstruction), norm(high(from_adversarial)) / norm(from_adversarial)))
        size = config.local_size
        for image_hole, (top, left) in zip(hole, batch.hole_patch):
            holes.append(image_hole.sum().item())
            inside.append(image_hole[0, top:top + size, left:left + size].sum().item())
    mean = [statistics.mean(row[i] for row in rows) for i in range(4)]
    print(f"{args.run}: iteration {state['iteration']}, alpha {config.alpha}, {config.generator_loss}, discriminators {config.discriminators}")
    print(f"|d {config.reconstruction_loss}| {mean[0]:.4g}  |d alpha x adversarial| {mean[1]:.4g}  ratio {mean[1] / mean[0]:.3f}")
    print(f"share above a sigma-2 low-pass: {config.reconstruction_loss} {mean[2]:.2f}, adversarial {mean[3]:.2f}")
    print(f"hole pixels inside the {config.local_size} px local box: {sum(inside) / sum(holes):.2f}")
    if args.picture:
        _picture(args.picture, batch, composite, from_adversarial, hole)


def _picture(path: str, batch, composite: torch.Tensor, gradient: torch.Tensor, hole: torch.Tensor) -> None:
    import numpy as np

    from glcic.image_io import write_image

    masked = gradient.detach() * hole
    magnitude = masked.norm(dim=1, keepdim=True)
    magnitude = (magnitude / magnitude.amax(dim=(2, 3), keepdim=True).clamp_min(1e-12)).expand(-1, 3, -1, -1)
    step = 0.5 - 0.5 * masked / masked.abs().amax(dim=(1, 2, 3), keepdim=True).clamp_min(1e-12)
    tiles = [batch.image, composite.detach(), step, magnitude, hole.expand(-1, 3, -1, -1)]
    grid = torch.cat([torch.cat(list(t[:6]), dim=2) for t in tiles], dim=1)
    write_image(path, (grid.permute(1, 2, 0).numpy() * 255).clip(0, 255).astype(np.uint8))
    print(f"wrote {path}")


if __name__ == "__main__":
    main()

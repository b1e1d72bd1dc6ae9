"""An experiment: a small network after the completion network, trained adversarially, that puts
the photo's texture on the fill (docs/adversarial.md, section 13).

`--texture` (glcic.inference.texture) adds PatchMatch's detail finer than 4 px to the network's fill
with a fixed rule. Here a texture head (a few full-resolution convolutions, dilated, about 40 k
weights) gets the network's fill, PatchMatch's fill, that split and the hole, and adds a residual to
the split; it starts at zero (the split exactly) and is trained against a hole-aware patch
discriminator (a logit per 8 px cell, real = the original with the same hole channel: the realism
judge's question) with a reconstruction term on both images blurred by 2 px, so the layout stays
the network's and the fine scale is free.

    python scripts/texture_head.py data --data data/photos/train --protocol paper -o ~/glcic-runs/head-data/paper.npz
    python scripts/texture_head.py train ~/glcic-runs/head-data/*.npz --run-dir ~/glcic-runs/head-a
    python scripts/texture_head.py evaluate ~/glcic-runs/head-a/head.pt --data data/photos/validation -o /tmp/ev --protocol paper

The training pairs come from the training photos only, cropped and holed as `glcic evaluate` does
(its protocols), with the bundled `accurate` model and its post-processing.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np


def make_data(args) -> None:
    import glcic
    from glcic.evaluation.evaluate import _load_images, crop_pairs
    from glcic.evaluation.protocols import get_protocol, make_mask_set
    from glcic.inference.texture import patchmatch_copy

    protocol = get_protocol(args.protocol)
    names, photos, _ = _load_images(Path(args.data), None, protocol)
    _, crops = crop_pairs(names, photos, protocol.image_size, args.per_image, args.seed)
    holes = make_mask_set(protocol, [crop.shape[:2] for crop in crops], args.seed)
    model = glcic.load_model(args.model)
    originals, filled, copied = [], [], []
    start = time.time()
    for index, (crop, hole) in enumerate(zip(crops, holes)):
        completion = glcic.complete(model, crop, hole, postprocess=True)
        copy = patchmatch_copy(completion.astype(np.float32) / 255, hole, seed=args.seed * 100003 + index)
        originals.append(crop)
        filled.append(completion)
        copied.append(np.rint(copy * 255).astype(np.uint8))
        if index % 100 == 0:
            print(f"{index}/{len(crops)} {time.time() - start:.0f}s", flush=True)
    output = Path(args.output).expanduser()
    output.parent.mkdir(parents=True, exist_ok=True)
    np.savez(str(output) + ".part.npz", original=np.stack(originals), hole=np.stack(holes), filled=np.stack(filled),
             copied=np.stack(copied))
    os.replace(str(output) + ".part.npz", output)
    print(f"{len(crops)} pairs -> {output}")


def build_head(width: int = 32):
    import torch
    import torch.nn as nn

    class TextureHead(nn.Module):
        """(filled, copied, split, hole) -> a residual on the split; full resolution, 35 px reach."""

        def __init__(self):
            super().__init__()
            layers, channels = [], 10
            for dilation in (1, 2, 4, 8, 1):
                layers += [nn.Conv2d(channels, width, 3, padding=dilation, dilation=dilation), nn.LeakyReLU(0.2)]
                channels = width
            self.body = nn.Sequential(*layers)
            self.out = nn.Conv2d(width, 3, 3, padding=1)
            nn.init.zeros_(self.out.weight)
            nn.init.zeros_(self.out.bias)

        def forward(self, filled, copied, split, hole):
            x = torch.cat([filled - 0.5, copied - 0.5, split - 0.5, hole], dim=1)
            return split + hole * self.out(self.body(x))

    return TextureHead()


def build_discriminator(width: int = 48):
    """A hole-aware patch discriminator: a logit per 8 px cell of (image, hole), kept smooth by R1."""
    import torch.nn as nn

    def conv(a, b, k, s):
        return nn.Conv2d(a, b, k, stride=s, padding=(k - 1) // 2 if s == 1 else 1)

    return nn.Sequential(conv(4, width, 4, 2), nn.LeakyReLU(0.2), conv(width, 2 * width, 4, 2), nn.LeakyReLU(0.2),
                         conv(2 * width, 4 * width, 4, 2), nn.LeakyReLU(0.2), conv(4 * width, 4 * width, 3, 1),
                         nn.LeakyReLU(0.2), conv(4 * width, 1, 3, 1))


def _load_pairs(paths):
    from glcic.inference.texture import split_by_scale

    arrays = {"original": [], "hole": [], "filled": [], "copied": [], "split": []}
    for path in paths:
        data = np.load(Path(path).expanduser())
        for key in ("original", "hole", "filled", "copied"):
            arrays[key].append(data[key])
        arrays["split"].append(np.stack([np.rint(split_by_scale(f.astype(np.float32) / 255, c.astype(np.float32) / 255) * 255)
                                         .astype(np.uint8) for f, c in zip(data["filled"], data["copied"])]))
    return {key: np.concatenate(value) for key, value in arrays.items()}


def _batch(pairs, rng, size, count):
    import torch

    images = {key: [] for key in ("original", "filled", "copied", "split", "hole")}
    for _ in range(count):
        index = int(rng.integers(len(pairs["hole"])))
        hole = pairs["hole"][index]
        ys, xs = np.nonzero(hole)
        pick = int(rng.integers(len(ys)))
        top = int(np.clip(ys[pick] - size // 2 + rng.integers(-size // 4, size // 4 + 1), 0, hole.shape[0] - size))
        left = int(np.clip(xs[pick] - size // 2 + rng.integers(-size // 4, size // 4 + 1), 0, hole.shape[1] - size))
        flip = rng.random() < 0.5
        for key in images:
            crop = pairs[key][index][top : top + size, left : left + size]
            images[key].append(crop[:, ::-1] if flip else crop)
    tensor = lambda stack: torch.from_numpy(np.ascontiguousarray(np.stack(stack))).float()  # noqa: E731
    batch = {key: tensor(value).permute(0, 3, 1, 2) / 255 for key, value in images.items() if key != "hole"}
    batch["hole"] = tensor(images["hole"])[:, None]
    return batch


def train(args) -> None:
    import torch
    import torch.nn.functional as F

    from glcic.losses import gradient_penalty, low_pass

    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    run = Path(args.run_dir).expanduser()
    run.mkdir(parents=True, exist_ok=True)
    pairs = _load_pairs(args.pairs)
    print(f"{len(pairs['hole'])} pairs", flush=True)
    head, critic = build_head(args.width), build_discriminator()
    head_opt = torch.optim.Adam(head.parameters(), lr=args.lr, betas=(0.5, 0.999))
    critic_opt = torch.optim.Adam(critic.parameters(), lr=args.critic_lr, betas=(0.5, 0.999))
    start = 0
    if (run / "state.pt").is_file():
        state = torch.load(run / "state.pt")
        head.load_state_dict(state["head"]), critic.load_state_dict(state["critic"])
        head_opt.load_state_dict(state["head_opt"]), critic_opt.load_state_dict(state["critic_opt"])
        start, rng = state["iteration"], np.random.default_rng([args.seed, state["iteration"]])
        for optimizer, rate in ((head_opt, args.lr), (critic_opt, args.critic_lr)):  # the rates given now
            for group in optimizer.param_groups:
                group["lr"] = rate
    log = open(run / "log.jsonl", "a")

    def cells(hole):
        return F.avg_pool2d(hole, 8)

    def critic_input(image, hole):
        return torch.cat([image - 0.5, hole], dim=1)

    def weighted(loss_map, weight):
        return (loss_map * weight).sum() / weight.sum().clamp_min(1e-6)

    for iteration in range(start, args.iterations):
        b = _batch(pairs, rng, args.crop, args.batch)
        hole, weight = b["hole"], cells(b["hole"])
        completed = head(b["filled"], b["copied"], b["split"], hole)
        completed = hole * completed + (1 - hole) * b["original"]
        # the discriminator
        real_in = critic_input(b["original"], hole).requires_grad_(args.r1 > 0)
        real_logits = critic(real_in)
        fake_logits = critic(critic_input(completed.detach(), hole))
        if args.loss == "relativistic":  # each cell of the completion against the same cell of its photo
            critic_loss = weighted(F.softplus(fake_logits - real_logits), weight)
        else:
            critic_loss = weighted(F.softplus(-real_logits), weight) + weighted(F.softplus(fake_logits), weight)
        r1 = gradient_penalty(real_logits * (weight > 0), real_in) if args.r1 > 0 else torch.zeros(())
        critic_opt.zero_grad()
        (critic_loss + args.r1 / 2 * r1).backward()
        critic_opt.step()
        # the texture head
        fake_now = critic(critic_input(completed, hole))
        if args.loss == "relativistic":
            adversarial = weighted(F.softplus(real_logits.detach() - fake_now), weight)
        else:
            adversarial = weighted(F.softplus(-fake_now), weight)
        blurred = (low_pass(completed, args.blur) - low_pass(b["original"], args.blur)).abs().sum() / (3 * hole.sum())
        head_opt.zero_grad()
        (blurred + args.alpha * adversarial).backward()
        head_opt.step()
        if iteration % 25 == 0:
            with torch.no_grad():
                real_p = weighted(torch.sigmoid(real_logits), weight).item()
                fake_p = weighted(torch.sigmoid(fake_logits), weight).item()
                ranked = weighted((real_logits > fake_logits).float(), weight).item()  # cells where the photo scores higher
                l1 = ((completed - b["original"]).abs().sum() / (3 * hole.sum())).item()
            row = {"iteration": iteration, "critic": critic_loss.item(), "r1": r1.item(), "adversarial": adversarial.item(),
                   "blurred_l1": blurred.item(), "l1": l1, "real_p": real_p, "fake_p": fake_p, "ranked": ranked}
            log.write(json.dumps(row) + "\n"), log.flush()
            print(row, flush=True)
        if (iteration + 1) % args.save_every == 0 or iteration + 1 == args.iterations:
            state = {"head": head.state_dict(), "critic": critic.state_dict(), "head_opt": head_opt.state_dict(),
                     "critic_opt": critic_opt.state_dict(), "iteration": iteration + 1, "width": args.width}
            torch.save(state, run / "state.part"), os.replace(run / "state.part", run / "state.pt")
            torch.save({"head": head.state_dict(), "width": args.width}, run / f"head_{iteration + 1}.pt")


def load_head(path):
    import torch

    saved = torch.load(Path(path).expanduser())
    head = build_head(saved["width"])
    head.load_state_dict(saved["head"])
    return head.eval()


def headed(model, head, image, hole, seed):
    """glcic.complete with post-processing, then the head on the whole image (one window)."""
    import torch

    import glcic
    from glcic.inference.texture import patchmatch_copy, split_by_scale

    filled = glcic.complete(model, image, hole, postprocess=True).astype(np.float32) / 255
    copied = patchmatch_copy(filled, hole, seed)
    split = split_by_scale(filled, copied)
    as_tensor = lambda a: torch.from_numpy(np.ascontiguousarray(a)).permute(2, 0, 1)[None].float()  # noqa: E731
    with torch.no_grad():
        out = head(as_tensor(filled), as_tensor(copied), as_tensor(split), torch.from_numpy(hole)[None, None].float())
    out = out[0].permute(1, 2, 0).clamp(0, 1).numpy()
    return np.where(hole[..., None], np.rint(out * 255).astype(np.uint8), image)


def evaluate_heads(args) -> None:
    from glcic.evaluation.baselines import register_method
    from glcic.evaluation.evaluate import evaluate

    names = []
    for path in args.heads:
        head = load_head(path)
        name = "head_" + Path(path).parent.name.replace("-", "_") + "_" + Path(path).stem.split("_")[-1]
        register_method(name, needs_model=True, requires=("patchmatch",))(
            lambda image, hole, context, head=head: headed(context.model, head, image, hole, context.seed))
        names.append(name)
    import glcic

    evaluate(args.data, args.output, model=glcic.load_model("accurate"), protocol=args.protocol, per_image=args.per_image,
             seed=0, methods=names + args.methods.split(","), progress=False)


def sheet(args) -> None:
    """Rows of validation pairs at 100 %: the hole | `--texture` (the split) | each head | the photo."""
    from PIL import Image

    import glcic
    from glcic.evaluation.evaluate import _load_images, crop_pairs
    from glcic.evaluation.protocols import get_protocol, make_mask_set

    model = glcic.load_model("accurate")
    heads = [load_head(path) for path in args.heads]
    rows = []
    for protocol_name in ("paper", "free_form"):
        protocol = get_protocol(protocol_name)
        names, photos, _ = _load_images(Path(args.data), None, protocol)
        _, crops = crop_pairs(names, photos, protocol.image_size, 2, 0)
        holes = make_mask_set(protocol, [crop.shape[:2] for crop in crops], 0)
        for crop, hole in list(zip(crops, holes))[: args.rows]:
            shown = np.where(hole[..., None], 255, crop).astype(np.uint8)
            textured = glcic.complete(model, crop, hole, texture=True, seed=0)
            rows.append(np.concatenate([shown, textured] + [headed(model, h, crop, hole, 0) for h in heads] + [crop], axis=1))
    Image.fromarray(np.concatenate(rows, axis=0)).save(args.output, quality=92)
    print(args.output)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    data = commands.add_parser("data")
    data.add_argument("--data", required=True)
    data.add_argument("--protocol", default="paper")
    data.add_argument("--per-image", type=int, default=5)
    data.add_argument("--seed", type=int, default=7)
    data.add_argument("--model", default="accurate")
    data.add_argument("-o", "--output", required=True)
    fit = commands.add_parser("train")
    fit.add_argument("pairs", nargs="+")
    fit.add_argument("--run-dir", required=True)
    fit.add_argument("--iterations", type=int, default=3000)
    fit.add_argument("--batch", type=int, default=16)
    fit.add_argument("--crop", type=int, default=96)
    fit.add_argument("--width", type=int, default=32)
    fit.add_argument("--lr", type=float, default=2e-4)
    fit.add_argument("--critic-lr", type=float, default=1e-3)
    fit.add_argument("--loss", choices=("relativistic", "non_saturating"), default="relativistic")
    fit.add_argument("--alpha", type=float, default=0.01)
    fit.add_argument("--blur", type=float, default=2.0)
    fit.add_argument("--r1", type=float, default=0.1)
    fit.add_argument("--seed", type=int, default=0)
    fit.add_argument("--save-every", type=int, default=250)
    check = commands.add_parser("evaluate")
    check.add_argument("heads", nargs="+")
    check.add_argument("--data", required=True)
    check.add_argument("--protocol", default="paper")
    check.add_argument("--per-image", type=int, default=20)
    check.add_argument("--methods", default="glcic,glcic_texture,telea,patchmatch")
    check.add_argument("-o", "--output", required=True)
    look = commands.add_parser("sheet")
    look.add_argument("heads", nargs="+")
    look.add_argument("--data", required=True)
    look.add_argument("--rows", type=int, default=5)
    look.add_argument("-o", "--output", required=True)
    args = parser.parse_args()
    {"data": make_data, "train": train, "evaluate": evaluate_heads, "sheet": sheet}[args.command](args)


if __name__ == "__main__":
    main()

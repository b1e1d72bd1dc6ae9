"""An experiment: several PatchMatch fills per hole, the one whose layout agrees best with the
network's fill kept, and more of it used (docs/texture.md, "Picking among PatchMatch's fills").

`--texture` takes PatchMatch's detail finer than 4 px onto the network's fill, because PatchMatch's
layout is often wrong. But PatchMatch is random: another seed gives another layout. Here each
hole gets COUNT PatchMatch fills (seeds 0..COUNT-1), keeps the one whose fill blurred by 8 px is
closest (mean absolute difference over the hole) to the network's fill blurred alike, and adds its
detail finer than SIGMA px to the network's fill.

    python scripts/texture_pick.py --data data/photos/validation --protocol paper -o OUT --variants 4:4,4:8,1:8

Each variant COUNT:SIGMA becomes a method `pick_COUNT_SIGMA` of `glcic evaluate`, run with
`glcic_texture` and `patchmatch` on the same pairs. With `--windows`, each variant (COUNT must be
1) is `--texture` itself through `glcic.complete`'s windows with the split at SIGMA px:

    python scripts/texture_pick.py --windows --data data/photos/test --protocol paper --per-image 40 \
        --variants 1:4,1:8 --methods "" -o OUT

A third field sets the coherence gate of `glcic.inference.texture.split_by_scale` (LOW-HIGH, or
none): `--variants 1:4:none,1:4:0.15-0.3` (docs/texture.md, "Detail copied from the wrong place").
"""

from __future__ import annotations

import argparse

import numpy as np

LAYOUT_SIGMA = 8.0  # px: the scale at which a PatchMatch fill's layout is compared with the network's


def picked(model, image, hole, count, sigma, seed=0):
    import cv2

    import glcic
    from glcic.inference.texture import patchmatch_copy, split_by_scale

    filled = glcic.complete(model, image, hole, postprocess=True).astype(np.float32) / 255
    blur = lambda a: cv2.GaussianBlur(a, (0, 0), LAYOUT_SIGMA, borderType=cv2.BORDER_REFLECT)  # noqa: E731
    target = blur(filled)[hole]
    copies = [patchmatch_copy(filled, hole, seed * 1000 + k) for k in range(count)]
    best = min(copies, key=lambda copy: float(np.abs(blur(copy)[hole] - target).mean()))
    out = split_by_scale(filled, best, sigma)
    return np.where(hole[..., None], np.rint(out * 255).astype(np.uint8), image)


def through_windows(model, image, hole, sigma, seed=0, coherence="default"):
    """`glcic.complete(..., texture=True)` with the split at `sigma` px and the coherence gate
    `coherence` ((low, high), None for none, "default" for the library's)."""
    import glcic
    import glcic.inference.texture as texture

    chosen = texture.SPLIT_SIGMA, texture.COHERENCE
    texture.SPLIT_SIGMA = sigma
    if coherence != "default":
        texture.COHERENCE = coherence
    try:
        return glcic.complete(model, image, hole, postprocess=True, texture=True, seed=seed)
    finally:
        texture.SPLIT_SIGMA, texture.COHERENCE = chosen


def main() -> None:
    import glcic
    from glcic.evaluation.baselines import register_method
    from glcic.evaluation.evaluate import evaluate

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", required=True)
    parser.add_argument("--protocol", default="paper")
    parser.add_argument("--per-image", type=int, default=20)
    parser.add_argument("--variants", default="4:4,4:8")
    parser.add_argument("--methods", default="glcic_texture,patchmatch")
    parser.add_argument("--judge-seed", type=int, default=0)
    parser.add_argument("--judge-repeats", type=int, default=3)
    parser.add_argument("--windows", action="store_true", help="each variant as --texture through glcic.complete's windows")
    parser.add_argument("-o", "--output", required=True)
    args = parser.parse_args()
    names = []
    for variant in args.variants.split(","):
        count, sigma, *gate = variant.split(":")
        if args.windows:
            if int(count) != 1:
                parser.error("--windows takes variants 1:SIGMA[:LOW-HIGH|:none] only")
            coherence = "default" if not gate else None if gate[0] == "none" else tuple(map(float, gate[0].split("-")))
            name = f"texture_{sigma}" + (f"_{gate[0].replace('.', '')}" if gate else "")
            run = lambda image, hole, context, s=float(sigma), g=coherence: through_windows(context.model, image, hole, s, context.seed, g)  # noqa: E731
        else:
            name = f"pick_{count}_{sigma}"
            run = lambda image, hole, context, c=int(count), s=float(sigma): picked(context.model, image, hole, c, s, context.seed)  # noqa: E731
        register_method(name, needs_model=True, requires=("patchmatch",))(run)
        names.append(name)
    from glcic.evaluation.judge import JudgeSettings

    evaluate(args.data, args.output, model=glcic.load_model("accurate"), protocol=args.protocol, per_image=args.per_image,
             seed=0, methods=names + [m for m in args.methods.split(",") if m], progress=False,
             judge=JudgeSettings(seed=args.judge_seed, repeats=args.judge_repeats))


if __name__ == "__main__":
    main()

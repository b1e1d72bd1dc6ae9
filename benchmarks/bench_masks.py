"""Hostile masks, side by side in one run: how planning and blending scale with thousands of holes.

    python benchmarks/bench_masks.py [--json FILE]

1. Planning (`glcic.inference.regions.plan_completion`) of masks of one-pixel specks at 1 % of a
   photo's pixels, from 0.3 to 12 MP: seconds, and seconds per 10,000 specks (constant when the
   merge grows with the holes' number, as it does since 2026-12-07; it used to grow with its square).
2. The Poisson blend's sparse solve (`glcic.inference.postprocess.poisson_system`) on a brush
   stroke and on a speckled hole, ordered by minimum degree on A^T + A and by COLAMD: seconds each
   and their ratio. Minimum degree fills in less; its ordering time explodes on large, irregular
   holes, so the blend orders every system by COLAMD.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np


def main() -> int:
    import cv2
    from scipy.sparse.linalg import splu

    from glcic.inference.postprocess import poisson_system
    from glcic.inference.regions import plan_completion
    from glcic.models.completion import network_reach

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", help="also write the numbers here")
    args = parser.parse_args()
    results: dict = {"planning": [], "ordering": []}
    rng = np.random.default_rng(0)
    print("planning, specks at 1 % of the pixels")
    for height, width in ((480, 640), (1200, 1600), (3000, 4000)):
        hole = rng.random((height, width)) < 0.01
        specks = cv2.connectedComponents(hole.astype(np.uint8), connectivity=8)[0] - 1
        start = time.perf_counter()
        plan = plan_completion(hole, 16.0, network_reach())
        seconds = time.perf_counter() - start
        results["planning"].append({"size": [width, height], "specks": specks, "windows": len(plan.windows), "seconds": seconds})
        print(f"  {width}x{height}: {specks} specks, {len(plan.windows)} windows, {seconds:.2f} s, {seconds / specks * 1e4:.2f} s per 10,000")
    stroke = np.zeros((1000, 1500), np.uint8)
    cv2.polylines(stroke, [np.array([[50, 50], [1400, 300], [200, 900], [1400, 950]])], False, 1, 30)
    specked = rng.random((240, 240)) < 0.85  # 49,000 px: minimum degree takes minutes from about 100,000
    print("blend solve, minimum degree (MMD_AT_PLUS_A) against COLAMD")
    for name, unknown in (("30 px brush stroke", stroke > 0), ("speckled hole, 85 %", specked)):
        matrix, rhs, _ = poisson_system(unknown, np.ones(unknown.shape + (3,)))
        seconds = {}
        for ordering in ("MMD_AT_PLUS_A", "COLAMD"):
            start = time.perf_counter()
            splu(matrix, permc_spec=ordering).solve(rhs)
            seconds[ordering] = time.perf_counter() - start
        ratio = seconds["MMD_AT_PLUS_A"] / seconds["COLAMD"]
        results["ordering"].append({"hole": name, "pixels": int(unknown.sum()), **seconds, "ratio": ratio})
        print(f"  {name}, {int(unknown.sum())} px: MMD {seconds['MMD_AT_PLUS_A']:.2f} s, COLAMD {seconds['COLAMD']:.2f} s, x{ratio:.1f}")
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(results, handle, indent=2)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

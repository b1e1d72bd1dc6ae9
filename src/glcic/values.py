"""What a number given by a user must be, written once: the command line parses with it,
`TrainConfig` checks its fields with it, and `glcic train --dry-run` therefore refuses what a run
would refuse.

Every float must be finite, and every kind has an upper bound where a larger value can only be a
mistake that would fail later, slowly or with a traceback (a 10^23 px resize, an infinite upload
limit, a width no machine can hold).
"""

from __future__ import annotations

import math

from glcic.config import MAX_NOISE_SCALE, MAX_SIDE, MAX_WIDTH  # noqa: F401 - MAX_SIDE: image sides, crops, hole sizes, windows

MAX_COUNT = 2**31 - 1  # iterations, seeds, pairs, pixels: what fits every index type glcic passes them to

# name -> (type, test, words for errors)
VALUE_KINDS = {
    "positive_int": (int, lambda v: 0 < v <= MAX_COUNT, f"a positive integer (at most {MAX_COUNT})"),
    "natural_int": (int, lambda v: 0 <= v <= MAX_COUNT, f"an integer >= 0 (at most {MAX_COUNT})"),
    "side": (int, lambda v: 0 < v <= MAX_SIDE, f"a size in px from 1 to {MAX_SIDE}"),
    "positive_float": (float, lambda v: math.isfinite(v) and v > 0, "a finite number > 0"),
    "natural_float": (float, lambda v: math.isfinite(v) and v >= 0, "a finite number >= 0"),
    "fraction": (float, lambda v: 0 <= v <= 1, "a number in [0, 1]"),
    "width": (float, lambda v: 0 < v <= MAX_WIDTH, f"a width multiplier in (0, {MAX_WIDTH:g}]"),
    "megabytes": (float, lambda v: math.isfinite(v) and 0 < v <= 2**20, "a number of MB > 0 (at most 1048576)"),
    "threshold": (float, lambda v: 0 < v <= 1, "a number in (0, 1]"),
    "noise_scale": (float, lambda v: 0 <= v <= MAX_NOISE_SCALE, f"a number in [0, {MAX_NOISE_SCALE:g}] (1: as trained)"),
    "quality": (int, lambda v: 1 <= v <= 100, "an integer in 1-100"),
    "port": (int, lambda v: 0 <= v <= 65535, "a port number in 0-65535"),
    "per_image": (int, lambda v: 1 <= v <= 10000, "an integer in 1-10000"),
    "bench_size": (int, lambda v: 16 <= v <= 8192 and v % 4 == 0, "a multiple of 4 from 16 to 8192 px"),
}


def check_value(name: str, value, kind: str | None = None, choices=None):
    """`value` if it is a valid `kind` / one of `choices`, else ValueError naming `name`."""
    if kind is not None:
        expected, test, words = VALUE_KINDS[kind]
        numeric = isinstance(value, (int, float)) if expected is float else isinstance(value, int)
        if isinstance(value, bool) or not numeric or not test(value):
            raise ValueError(f"{name} must be {words}, got {value!r}")
    if choices is not None:
        names = list(choices() if callable(choices) else choices)
        if value not in names:
            raise ValueError(f"{name} must be one of {names}, got {value!r}")
    return value


def parse_value(text: str, kind: str):
    """Parse command-line text as a value of `kind` (ValueError with the words of VALUE_KINDS)."""
    expected, test, words = VALUE_KINDS[kind]
    try:
        value = expected(text)
    except (ValueError, OverflowError):
        raise ValueError(f"must be {words}, got {text!r}") from None
    if not test(value):
        raise ValueError(f"must be {words}, got {text!r}")
    return value

"""User-facing errors: each names the bad value and what would be accepted.

The CLI turns any `GlcicError` into a one-line message and a non-zero exit; everything else is a bug.
"""


class GlcicError(Exception):
    """Base class for errors caused by the user's input, not by the library."""


class ImageError(GlcicError):
    """An image or mask file or array that cannot be used."""


class MaskError(GlcicError):
    """A mask that does not fit its image, or leaves nothing to complete."""


class ModelFileError(GlcicError):
    """A file that is not a loadable glcic model."""


class UnknownChoiceError(GlcicError, ValueError):
    """A name that is not in a registry (hole sampler, mask protocol, method, metric, preset)."""

"""The paper's networks: the completion network (Table 2) and the context discriminators (Table 3).

Names are imported on first use, so that `glcic.models.discriminator_config` loads without torch."""

import importlib

_EXPORTS = {
    "CompletionNetwork": "glcic.models.completion", "fuse_batchnorm": "glcic.models.completion",
    "ContextDiscriminator": "glcic.models.discriminators", "GlobalDiscriminator": "glcic.models.discriminators",
    "LocalDiscriminator": "glcic.models.discriminators",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'glcic.models' has no attribute {name!r}")

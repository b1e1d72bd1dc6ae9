"""Globally and Locally Consistent Image Completion (Iizuka, Simo-Serra, Ishikawa; SIGGRAPH 2017).

    import glcic
    model = glcic.load_model("model.safetensors")
    completed = glcic.complete(model, image, mask)   # PIL images or numpy arrays
"""

import importlib

__version__ = "0.1.0"

# Names are imported on first use, so that `glcic --help` and usage errors answer without loading torch.
_EXPORTS = {
    "DISCRIMINATOR_PRESETS": "glcic.models.discriminator_config", "DiscriminatorConfig": "glcic.models.discriminator_config",
    "ModelConfig": "glcic.config",
    "GlcicError": "glcic.errors", "ImageError": "glcic.errors", "MaskError": "glcic.errors", "ModelFileError": "glcic.errors",
    "read_image": "glcic.image_io", "write_image": "glcic.image_io",
    "EmptyMaskWarning": "glcic.inference.complete", "complete": "glcic.inference.complete",
    "CompletionModel": "glcic.inference.model", "load_model": "glcic.inference.model", "load_network": "glcic.model_file",
    "save_model": "glcic.model_file",
    "CompletionNetwork": "glcic.models", "ContextDiscriminator": "glcic.models", "GlobalDiscriminator": "glcic.models",
    "LocalDiscriminator": "glcic.models",
}


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'glcic' has no attribute {name!r}")


def __dir__():
    return sorted([*globals(), *_EXPORTS])

__all__ = sorted(_EXPORTS)

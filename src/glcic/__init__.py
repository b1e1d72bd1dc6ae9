"""Globally and Locally Consistent Image Completion (Iizuka, Simo-Serra, Ishikawa; SIGGRAPH 2017).

    import glcic
    model = glcic.load_model("model.safetensors")
    completed = glcic.complete(model, image, mask)   # PIL images or numpy arrays
"""

from glcic.config import DISCRIMINATOR_PRESETS, DiscriminatorConfig, ModelConfig
from glcic.errors import GlcicError, ImageError, MaskError, ModelFileError
from glcic.image_io import read_image, write_image
from glcic.inference.complete import EmptyMaskWarning, complete
from glcic.model_file import CompletionModel, load_model, load_network, save_model
from glcic.models import CompletionNetwork, ContextDiscriminator, GlobalDiscriminator, LocalDiscriminator

__version__ = "0.1.0"

__all__ = [
    "CompletionModel",
    "CompletionNetwork",
    "ContextDiscriminator",
    "DISCRIMINATOR_PRESETS",
    "DiscriminatorConfig",
    "EmptyMaskWarning",
    "GlcicError",
    "GlobalDiscriminator",
    "ImageError",
    "LocalDiscriminator",
    "MaskError",
    "ModelConfig",
    "ModelFileError",
    "complete",
    "load_model",
    "load_network",
    "read_image",
    "save_model",
    "write_image",
]

"""The paper's networks: the completion network (Table 2) and the context discriminators (Table 3)."""

from glcic.models.completion import CompletionNetwork, fuse_batchnorm
from glcic.models.discriminators import ContextDiscriminator, GlobalDiscriminator, LocalDiscriminator

__all__ = ["CompletionNetwork", "ContextDiscriminator", "GlobalDiscriminator", "LocalDiscriminator", "fuse_batchnorm"]

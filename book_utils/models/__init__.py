"""Model families, one module each: ``cifar`` (04-1's VGG-11 and ResNet-18) and ``cifar_training`` (how 04-1
trains them, and the cached trained models later notebooks reuse). The CIFAR family is re-exported here,
so ``from book_utils import models; models.vgg11_cifar()`` works; later families are imported as modules.
"""

from torch import nn

from book_utils.models.cifar import (
    ARCHS,
    CIFAR_MEAN,
    CIFAR_STD,
    VGG11_CFG,
    BasicBlock,
    ResNetCifar,
    VGGCifar,
    build_cifar_model,
    cifar_transforms,
    denormalize,
    resnet18_cifar,
    vgg11_cifar,
)
from book_utils.models.cifar_training import (
    CifarRecipe,
    cifar_checkpoint_path,
    cifar_loaders,
    cifar_model_tag,
    cifar_recipe,
    make_optimizer,
    pretrained_cifar_model,
    save_cifar_model,
    train_cifar_model,
)


def count_parameters(model: nn.Module, trainable_only: bool = True) -> int:
    """Number of parameters (only those with ``requires_grad`` when ``trainable_only``); introduced in 03-4."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)


__all__ = [
    "ARCHS", "CIFAR_MEAN", "CIFAR_STD", "VGG11_CFG", "BasicBlock", "CifarRecipe", "ResNetCifar", "VGGCifar",
    "build_cifar_model", "cifar_checkpoint_path", "cifar_loaders", "cifar_model_tag", "cifar_recipe", "cifar_transforms",
    "count_parameters", "denormalize", "make_optimizer", "pretrained_cifar_model", "resnet18_cifar",
    "save_cifar_model", "train_cifar_model", "vgg11_cifar",
]

"""book_utils.models.unet: the book's ResNet18Unet."""

from __future__ import annotations

import pytest
import torch

from book_utils.models import count_parameters


def test_resnet18_unet_matches_the_book():
    from book_utils.models.unet import ResNet18Unet

    assert count_parameters(ResNet18Unet()) == 15_348_610
    assert count_parameters(ResNet18Unet(num_classes=1, in_channels=1)) == 15_342_305
    net = ResNet18Unet(width=8).eval()
    assert net(torch.zeros(1, 3, 64, 96)).shape == (1, 2, 64, 96)
    with pytest.raises(ValueError, match="divisible by 32"):
        net(torch.zeros(1, 3, 60, 64))

"""Dataset loaders: one module per dataset, each with one ``load_<name>()`` of one shape.

``load_<name>(split="train", *, transform=None, target_transform=None, source="auto", root=None,
verbose=True, **options)`` returns a module-level ``torch.utils.data.Dataset`` with ``classes``,
``targets``, ``split``, ``source`` (``"real"``, ``"standin"`` or ``"generated"``), ``root`` and, where it
fits in memory, ``data``. Import the module you need, e.g. ``from book_utils.datasets.cifar10 import
load_cifar10``; nothing is imported here, so ``import book_utils.datasets`` stays cheap.
"""

#: Every dataset module and its loader, in the order the book introduces them (the contract test uses it).
LOADERS = {
    "cifar10": "load_cifar10",  # 02-1
    "chars74k": "load_chars74k",  # 02-2
    "banknotes": "load_banknotes",  # 03-3
    "captcha": "load_captcha",  # 04-5
}

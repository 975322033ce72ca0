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
    "kaggle_cifar10": "load_kaggle_cifar10",  # 04-7
    "sun_scenes": "load_sun_scenes",  # 05-1
    "voc": "load_voc",  # 05-1 (chapters 5 and 6)
    "pubfig": "load_pubfig",  # 07-1 (chapters 7 and 8)
    "names": "load_names",  # 09-2
    "captcha_lines": "load_captcha_lines",  # 09-4
}


def real_data_report() -> list[tuple[str, str, str]]:
    """For each dataset with real files: ``(name, state, folder)``, state ``"found"``, ``"damaged: <why>"``
    or ``"not found"``, in book order (notebook 00-1 prints it). Generated-only datasets are left out."""
    import importlib

    rows = []
    for name in LOADERS:
        module = importlib.import_module(f"book_utils.datasets.{name}")
        if not hasattr(module, "real_status"):
            continue
        found = module.real_status()
        state = "found" if found.path is not None else f"damaged: {found.problem}" if found.problem else "not found"
        rows.append((name, state, str(found.looked)))
    return rows

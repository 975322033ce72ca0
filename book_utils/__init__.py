"""Helpers for the runnable book: modes and setup, data loaders, plots and the training loop.

Notebooks start with ``import book_utils; cfg = book_utils.setup()``. Submodules are imported
explicitly where needed (``from book_utils import plot``) so that importing the package stays cheap.
"""

from book_utils.config import CheckFailed, Config, ConfigError, data_dir, setup

__all__ = ["CheckFailed", "Config", "ConfigError", "data_dir", "setup"]
__version__ = "0.1.0"

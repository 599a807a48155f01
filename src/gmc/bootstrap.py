"""Wiring: imports every feature's models so metadata and migrations see the whole schema."""

from __future__ import annotations

import importlib
from pathlib import Path

_PACKAGE_ROOT = Path(__file__).resolve().parent


def model_modules() -> list[str]:
    """Every `models.py` module of the package (features and their sub-features), found on disk."""
    found = []
    for path in sorted(_PACKAGE_ROOT.rglob("models.py")):
        relative = path.relative_to(_PACKAGE_ROOT).with_suffix("")
        found.append("gmc." + ".".join(relative.parts))
    return found


def load_models() -> None:
    """Imports every model module (idempotent); string foreign keys resolve in any order."""
    for name in model_modules():
        importlib.import_module(name)

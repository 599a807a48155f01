"""Wiring: imports every feature's models so metadata and migrations see the whole schema."""

from __future__ import annotations

import importlib

#: Feature model modules, lowest rung of the ladder first.
MODEL_MODULES = [
    "gmc.audit.models",
    "gmc.organisations.models",
    "gmc.auth.models",
    "gmc.registry.models",
]


def load_models() -> None:
    """Imports every model module (idempotent)."""
    for name in MODEL_MODULES:
        importlib.import_module(name)

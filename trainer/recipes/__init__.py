"""Registry of training recipes, one per trainable variant group (FSRNet, FSRGAN, SPARNet, ...).

Recipe modules register themselves with :func:`register`; :func:`for_model` finds the recipe of a variant name.
Modules whose networks are not available in this checkout (a family still being written) are skipped, so the
trainer works for the families that exist.
"""
from __future__ import annotations

import importlib

from .base import Recipe

_RECIPES: dict[str, type[Recipe]] = {}
_MODULES = ("fsrnet", "sparnet", "selfsr")
_loaded = False


def register(cls: type[Recipe]) -> type[Recipe]:
    for name in cls.variants:
        if name in _RECIPES:
            raise ValueError(f"variant {name!r} has two recipes ({_RECIPES[name].name}, {cls.name})")
        _RECIPES[name] = cls
    return cls


def _load() -> None:
    global _loaded
    if _loaded:
        return
    _loaded = True
    for module in _MODULES:
        try:
            importlib.import_module(f"{__name__}.{module}")
        except ImportError as exc:  # the family's network module has not landed in this checkout
            _SKIPPED[module] = str(exc)


_SKIPPED: dict[str, str] = {}


def recipes() -> dict[str, type[Recipe]]:
    _load()
    return dict(_RECIPES)


def for_model(name: str) -> type[Recipe]:
    _load()
    try:
        return _RECIPES[name]
    except KeyError:
        skipped = f" (not loadable here: {'; '.join(f'{m}: {e}' for m, e in _SKIPPED.items())})" if _SKIPPED else ""
        raise KeyError(f"no training recipe for model {name!r}; trainable: {', '.join(sorted(_RECIPES))}{skipped}") \
            from None


__all__ = ["Recipe", "register", "recipes", "for_model"]

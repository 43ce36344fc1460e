"""Registry of training recipes, one per trainable variant group (FSRNet, FSRGAN, SPARNet, ...).

Recipe modules register themselves with :func:`register` when imported (at the end of this module);
:func:`for_model` finds the recipe of a variant name.
"""
from __future__ import annotations

from engine.zoo import UnknownModelError

from .base import Recipe

_RECIPES: dict[str, type[Recipe]] = {}


def register(cls: type[Recipe]) -> type[Recipe]:
    for name in cls.variants:
        if name in _RECIPES:
            raise ValueError(f"variant {name!r} has two recipes ({_RECIPES[name].name}, {cls.name})")
        _RECIPES[name] = cls
    return cls


def recipes() -> dict[str, type[Recipe]]:
    return dict(_RECIPES)


def for_model(name: str) -> type[Recipe]:
    try:
        return _RECIPES[name]
    except KeyError:
        raise UnknownModelError(f"no training recipe for model {name!r}; trainable: {', '.join(sorted(_RECIPES))}") \
            from None


from . import fsrnet, selfsr, sparnet  # noqa: E402, F401  (each registers its recipes; needs `register` above)

__all__ = ["Recipe", "register", "recipes", "for_model"]

"""Declared config paths and the strict base of every config section."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Annotated, Any, get_args, get_origin

from pydantic import BaseModel, ConfigDict, Field

PACKAGE_PREFIX = "pkg:"
"""A path ``pkg:<package>/<file>`` names a file shipped inside an installed package."""


InputPath = Annotated[Path, "input"]
"""A file the run reads: resolved against the config's folder, checked up front, part of the batch fingerprint."""
OutputPath = Annotated[Path, "output"]
"""A folder the run writes: resolved against the config's folder only."""


def path_kind(annotation: Any, metadata: list | None = None) -> str | None:
    """``"input"`` or ``"output"`` when ``annotation`` holds :data:`InputPath` or :data:`OutputPath`.

    Pydantic keeps a field's own ``Annotated`` extras apart: pass them as ``metadata``.
    """
    if annotation is Path and metadata:
        return next((item for item in metadata if item in ("input", "output")), None)
    if get_origin(annotation) is Annotated:
        args = get_args(annotation)
        if args[0] is not Path:  # an annotated union, e.g. one with a discriminator
            return path_kind(args[0])
        return args[1] if args[1] in ("input", "output") else None
    return next(filter(None, map(path_kind, get_args(annotation))), None)
Minutes = Annotated[float, Field(gt=0, allow_inf_nan=False)]
"""A travel time in minutes: positive and finite."""


def check_bands(bands: list[float], target: float) -> list[float]:
    """The bands sorted; a band given twice or a target that is not a band is an error naming both keys."""
    twice = sorted({band for band in bands if bands.count(band) > 1})
    if twice:
        raise ValueError(f"bands_minutes gives {', '.join(f'{b:g}' for b in twice)} more than once")
    if target not in bands:
        raise ValueError(f"target_minutes {target:g} must be one of bands_minutes {[float(b) for b in bands]}")
    return sorted(bands)


class Section(BaseModel):
    """A config section: unknown keys are errors; declared paths are walked by one method."""

    model_config = ConfigDict(extra="forbid")

    def declared_paths(self, prefix: str = "") -> Iterator[tuple[str, str, Path]]:
        """Every path set in this config and its sections: ``(key, kind, path)``, kind ``input`` or ``output``."""
        for name, field in type(self).model_fields.items():
            value, key = getattr(self, name), f"{prefix}{name}"
            kind = path_kind(field.annotation, field.metadata)
            items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else None
            if isinstance(value, Section):
                yield from value.declared_paths(f"{key}.")
            elif items is not None:
                for inner, item in items:
                    if isinstance(item, Section):
                        yield from item.declared_paths(f"{key}[{inner}].")
                    elif kind and isinstance(item, Path):
                        yield f"{key}.{inner}" if isinstance(value, dict) else f"{key}[{inner}]", kind, item
            elif kind and isinstance(value, Path):
                yield key, kind, value

    def map_paths(self, fix: Callable[[Path], Path]) -> None:
        """Replace every declared path ``p`` (in this config and its sections, in place) by ``fix(p)``."""
        for name, field in type(self).model_fields.items():
            value = getattr(self, name)
            kind = path_kind(field.annotation, field.metadata)
            inner = value.values() if isinstance(value, dict) else value if isinstance(value, list) else [value]
            for item in inner:
                if isinstance(item, Section):
                    item.map_paths(fix)
            if kind and isinstance(value, Path):
                setattr(self, name, fix(value))
            elif kind and isinstance(value, dict):
                setattr(self, name, {k: fix(v) if isinstance(v, Path) else v for k, v in value.items()})



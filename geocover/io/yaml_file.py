"""Read a YAML file as analysts save it: UTF-8 or GBK/GB18030 (Notepad, WPS), every key once."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from geocover.errors import InputError, Problem
from geocover.io.encodings import detect_encoding

__all__ = ["read_yaml"]


def read_yaml(path: str | Path, what: str = "file") -> tuple[Any, list[Problem]]:
    """The content of a YAML file, and the keys given twice in one mapping.

    Parameters
    ----------
    path : str or pathlib.Path
    what : str
        How the file is named in messages, e.g. ``"config file"``, ``"plan file"``.

    Returns
    -------
    data : object
        The parsed document (a mapping for a config or a plan).
    twice : list of Problem
        Every key given twice in one mapping (YAML keeps the last silently), with its lines: for the caller
        to report with the problems of the content.

    Raises
    ------
    InputError
        A missing file or a folder, text in no known encoding (UTF-8, UTF-8 with BOM, GBK, GB18030), a
        syntax error.
    """
    path = Path(path)
    if path.is_dir():
        raise InputError([Problem(str(path), f"is a folder, not a {what}", "give the .yaml file")])
    if not path.is_file():
        raise InputError([Problem(str(path), f"{what} not found", "check the path")])
    raw = path.read_bytes()
    encoding = detect_encoding(raw)
    if encoding is None or encoding == "big5":
        raise InputError([Problem(str(path), "the text is neither UTF-8 nor GBK/GB18030",
                                  "save it as UTF-8 (in Notepad: Save as, Encoding UTF-8)")])
    text = raw.decode(encoding)
    try:
        data = yaml.safe_load(text)
        twice = _duplicate_keys(yaml.compose(text), str(path))
    except yaml.YAMLError as error:
        raise InputError([Problem(str(path), f"not valid YAML: {error}", "fix the syntax")]) from None
    return data, twice


def _duplicate_keys(node: yaml.Node | None, file: str, prefix: str = "") -> list[Problem]:
    """A key given twice in one mapping, in the document ``node``."""
    problems: list[Problem] = []
    if isinstance(node, yaml.MappingNode):
        seen: dict[str, int] = {}
        for key, value in node.value:
            name = f"{prefix}{key.value}"
            line = key.start_mark.line + 1
            if key.value in seen:
                problems.append(Problem(file, f"key '{name}' is given twice, on lines {seen[key.value]} and {line}",
                                        "keep one of them"))
            seen.setdefault(key.value, line)
            problems += _duplicate_keys(value, file, f"{name}.")
    elif isinstance(node, yaml.SequenceNode):
        for number, item in enumerate(node.value):
            problems += _duplicate_keys(item, file, f"{prefix.removesuffix('.')}[{number}].")
    return problems

"""A batch's record of its finished units: one pickle per unit in the state folder, kept while its fingerprint
(the config, every input file's size and time, the map options, the geocover version) stays the same."""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import re
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import geocover
from geocover.config import ScenarioConfig
from geocover.output_folder import give_user_mode

if TYPE_CHECKING:
    from geocover.batch.plan import PlanTables
    from geocover.batch.unit import UnitResult

STATE_FOLDER = ".batch"
"""The folder, inside the output folder, where a batch records its finished units (unless ``batch.state_dir``)."""


def state_name(unit_id: str) -> str:
    """File name of a unit's record: its id made safe for a file name, and a short hash of it."""
    safe = re.sub(r"[^0-9A-Za-z_.-]", "_", unit_id)[:80]
    return f"{safe}-{hashlib.sha1(unit_id.encode()).hexdigest()[:8]}.pkl"


def fingerprint(config: ScenarioConfig, lang: str | None, tiles: str | None) -> str:
    """A hash of what a unit's result depends on: the config, every input file's size and time, the map options."""
    stamps = [(str(p), p.stat().st_size, p.stat().st_mtime_ns) for p in config.input_files() if p.exists()]
    text = json.dumps([config.model_dump_json(exclude={"batch", "output_dir"}), stamps, lang, tiles,
                       geocover.__version__])
    return hashlib.sha256(text.encode()).hexdigest()


def load_state(path: Path, stamp: str) -> UnitResult | PlanTables | None:
    """The recorded result at ``path`` when its fingerprint is ``stamp``, else None."""
    if not path.is_file():
        return None
    try:
        with open(path, "rb") as file:
            record = pickle.load(file)
    except (pickle.UnpicklingError, EOFError, AttributeError, ImportError, TypeError):
        return None
    return record["result"] if record.get("fingerprint") == stamp else None


def save_state(path: Path, stamp: str, result: UnitResult | PlanTables) -> None:
    """Record a finished unit (or the plan tables): written to a temporary file, then moved into place."""
    handle, temporary = tempfile.mkstemp(prefix=".unit-", dir=path.parent)
    give_user_mode(temporary)
    with os.fdopen(handle, "wb") as file:
        pickle.dump({"fingerprint": stamp, "result": result}, file, protocol=pickle.HIGHEST_PROTOCOL)
    os.replace(temporary, path)

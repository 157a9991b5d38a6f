"""Shared fixtures: the ../shared kit beside the checkout, skipped on a user's clone, required in CI."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
REQUIRE_SHARED = os.environ.get("GEOCOVER_REQUIRE_SHARED") == "1"


def need_shared(relative: str) -> Path:
    """Path of ``../shared/<relative>``: skip when missing, fail when GEOCOVER_REQUIRE_SHARED=1."""
    path = SHARED / relative
    if not path.exists():
        message = f"{path} is missing: the ../shared kit sits beside the checkout in CI, not in a user's clone"
        if REQUIRE_SHARED:
            pytest.fail(message + " (GEOCOVER_REQUIRE_SHARED=1)")
        pytest.skip(message)
    return path


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """The ``../shared`` folder."""
    return need_shared("")


@pytest.fixture(scope="session")
def comoros_dir() -> Path:
    """The Comoros test kit, ``../shared/data/comoros``."""
    return need_shared("data/comoros")


@pytest.fixture(scope="session")
def standards_dir() -> Path:
    """The extractions of the seed plans' standards, ``../shared/standards``."""
    return need_shared("standards")


@pytest.fixture(scope="session")
def comoros_workspace(comoros_dir, tmp_path_factory):
    """The Comoros scenario loaded once into a planning workspace (:mod:`geocover.serve.state`)."""
    from geocover.serve.state import Workspace

    return Workspace(ROOT / "configs" / "comoros.yaml", tmp_path_factory.mktemp("comoros_workspace"))


@pytest.fixture(scope="session")
def comoros_outputs(comoros_dir, tmp_path_factory) -> Path:
    """The output folder of ``geocover run configs/comoros.yaml --export-network``, run once per session."""
    from geocover.cli import main

    out = tmp_path_factory.mktemp("comoros")
    assert main(["run", str(ROOT / "configs" / "comoros.yaml"), "--out", str(out), "--export-network", "--quiet"]) == 0
    return out

"""Siting options declared once: Python's ``site()``, the config and the CLI agree on every default and choice."""

import inspect
import re
from pathlib import Path
from typing import get_args

from geocover import cli
from geocover.config import SitingConfig
from geocover.siting import CANDIDATE_RULES, MODELS, site

README = Path(__file__).resolve().parents[1] / "README.md"


def test_site_defaults_are_the_config_defaults():
    config = SitingConfig()
    parameters = inspect.signature(site).parameters
    shared = [name for name in parameters if name in SitingConfig.model_fields]
    assert len(shared) >= 16
    assert {name: parameters[name].default for name in shared} == {name: getattr(config, name) for name in shared}
    assert parameters["candidate_rule"].default == "gap_cells"


def test_cli_choices_and_readme_default_agree():
    parser = cli.build_parser()
    site_parser = next(a for a in parser._subparsers._group_actions[0].choices.values() if a.prog.endswith("site"))
    options = {action.dest: action for action in site_parser._actions}
    assert tuple(options["candidate_rule"].choices) == CANDIDATE_RULES
    assert tuple(options["model"].choices) == MODELS == get_args(SitingConfig.model_fields["model"].annotation)
    assert tuple(options["method"].choices) == get_args(SitingConfig.model_fields["method"].annotation)
    # the CLI leaves every default to the config: an option not given is None and the config's default applies
    assert all(options[name].default is None for name in ("model", "candidate_rule", "method", "k"))
    row = next(line for line in README.read_text(encoding="utf-8").splitlines() if "(`candidate_rule`)" in line)
    assert re.search(r"`(\w+)` \(default", row).group(1) == SitingConfig().candidate_rule

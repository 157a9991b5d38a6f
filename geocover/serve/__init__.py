"""``geocover serve``: the live planning workspace (a local web app over :mod:`geocover.travel.edits`)."""

"""The report's tables: headers and cells in the report's language, numbers right-aligned with thousands
separators, nothing cut short (long text wraps; the report prints its tables on landscape pages).

One writer, :func:`html_table`, serves ``report.html`` and, through it, ``report.pdf``.
"""

from __future__ import annotations

import html
import re

import numpy as np
import pandas as pd

from geocover.pipeline import ScenarioResult
from geocover.render.folium_map import CAPACITY_COLUMNS, facility_name
from geocover.render.i18n import LABELS, Lang, label, level_name, service_label, tier_name
from geocover.render.values import measure_text, note_text, value_text

#: Columns of :func:`geocover.standards.audit` shown in the report, failures first.
AUDIT_COLUMNS = ("rule_id", "measure", "unit_level", "unit_name", "value", "target", "status", "to_add",
                 "to_add_unit", "missing", "note")
_STATUS_ORDER = {"fail": 0, "pass": 1, "not evaluable": 2, "not specified by this plan": 3}
#: Most columns of one zone table after the zone's level and name.
GROUP_COLUMNS = 12


_PATTERNS: list[tuple[str, str]] = [  # (regex of a column, label key); groups fill the label's fields
    (r"(?P<key>pop_within|pct_within|pop_beyond)_(?P<minutes>\d+(?:_\d+)?)", ""),
    (r"pop_within_(?P<minutes>\d+(?:_\d+)?)_before", "pop_within_before"),
    (r"pop_within_(?P<minutes>\d+(?:_\d+)?)_after", "pop_within_after"),
    (r"facilities_(?P<tier>\w+)_per_10k", "facilities_tier_per_10k"),
    (r"flag_no_(?P<tier>\w+)", "flag_no"),
    (r"pop_within_radius_(?P<area>urban|rural)_(?P<km>[\d.]+)km", "pop_radius"),
    (r"pop_within_radius_(?P<area>urban|rural)_(?P<km>[\d.]+)km_2plus", "pop_radius_2plus"),
    (r"pop_within_road_radius_(?P<area>urban|rural)_(?P<km>[\d.]+)km", "pop_road_radius"),
    (r"pop_within_response_(?P<minutes>[\d.]+)min", "pop_response"),
    (r"minutes_(?P<stat>mean|median|p90)_(?P<tier>\w+)", "tier_minutes"),
    (r"pop_unreachable_(?P<tier>\w+)", "tier_unreachable"),
    (r"pop_offroad_over_(?P<metres>\d+)", "pop_offroad_over"),
    (r"pop_urban_within_(?P<minutes>\d+(?:_\d+)?)", "pop_urban_within"),
    (r"(?P<key>catchment_total|catchment_exclusive)_(?P<minutes>\d+(?:_\d+)?)", ""),
    (r"facilities_(?P<tier>\w+)", "facilities_tier"),
]


def column_label(column: str, lang: Lang, config: object | None = None) -> str:
    """Header of a table column in ``lang`` (``pct_within_15`` → ``% within 15 min``).

    Columns of a configured service (``hospital_pct_within_30``) read as the service's label and the
    column's; a column no rule knows keeps its name.
    """
    for service in getattr(config, "services", None) or []:
        if column.startswith(f"{service.name}_"):
            inner = column_label(column.removeprefix(f"{service.name}_"), lang)
            return label("service_column", lang, service=service_label(service, lang), column=inner)
    if column in CAPACITY_COLUMNS:
        return label("capacity", lang)
    if column in LABELS:
        return label(column, lang)
    for pattern, key in _PATTERNS:
        match = re.fullmatch(pattern, column)
        if match is None:
            continue
        fields = match.groupdict()
        if "minutes" in fields:
            fields["minutes"] = fields["minutes"].replace("_", ".")
        if "tier" in fields:
            fields["tier"] = tier_name(fields["tier"], lang)
        if "area" in fields:
            fields["area"] = label(fields["area"], lang)
        if "stat" in fields:
            fields["stat"] = label(f"stat_{fields['stat']}", lang)
        return label(fields.pop("key", None) or key, lang, **fields)
    return column


def zone_column_groups(result: ScenarioResult) -> list[list[str]]:
    """The zone table's columns in printable groups, each led by the zone's level and name: coverage of
    the target, the zone's facilities and class, each service, the ambulance, minutes per tier, the rest;
    a group of more than :data:`GROUP_COLUMNS` columns is cut in even parts."""
    table = result.table
    keys = [c for c in ("zone_level", "zone_name") if c in table.columns]
    services = [s.name for s in getattr(result.config, "services", None) or []]
    rules = [r"zone_id|population|pop_(within|beyond)_[\d_]+|pct_within_[\d_]+|pop_unreachable"
             r"|(mean|median|p90)_minutes",
             r"parent_id|urban_rural.*|is_county_seat|facilities.*|flag_.*",
             *[rf"{re.escape(name)}_.*" for name in services],
             r"pop_(urban|rural)|pop_within_(road_)?radius_.*|pop_within_response_.*|mean_response_minutes",
             r"minutes_(mean|median|p90)_.*|pop_unreachable_.*", r".*"]
    groups: list[list[str]] = [[] for _ in rules]
    for column in table.columns:
        if column not in keys:
            groups[next(i for i, rule in enumerate(rules) if re.fullmatch(rule, column))].append(column)
    out = []
    for group in filter(None, groups):
        parts = -(-len(group) // GROUP_COLUMNS)
        out += [keys + list(part) for part in np.array_split(np.array(group, dtype=object), parts)]
    return out


def cell_text(column: str, value: object, lang: Lang) -> str:
    """A table cell as shown: people and counts whole with thousands separators, percent and
    minutes to one decimal, rates per people to two, yes/no, tiers, levels and urban/rural in ``lang``,
    empty for missing; escaped."""
    if value is None or value is pd.NA or (isinstance(value, float) and not np.isfinite(value)):
        return ""
    if isinstance(value, bool | np.bool_):
        return label("yes" if value else "no", lang)
    if isinstance(value, int | float | np.integer | np.floating):
        decimals = 2 if "_per_" in column else 1 if "pct_" in column or "minutes" in column \
            or column in ("value", "target") else 0
        return f"{value:,.{decimals}f}"
    if column == "tier":
        return html.escape(tier_name(str(value), lang))
    if column in ("zone_level", "unit_level"):
        return html.escape(level_name(str(value), lang))
    return html.escape(value_text(column, str(value), lang))


def zone_rows(result: ScenarioResult) -> pd.DataFrame:
    """The zone table as reported: every column of ``result.table``."""
    return result.table.copy()


def facility_rows(result: ScenarioResult, lang: Lang = "en") -> pd.DataFrame:
    """The facility table as reported: the columns that exist, without geometry; a facility without a name
    reads as its tier and id."""
    columns = ["name", "tier", "grade", *CAPACITY_COLUMNS, "snapped", "snap_distance_m",
               "population_nearest", "population_within_target"]
    frame = result.facilities
    keep = [c for c in columns if c in frame.columns and (c in ("name", "tier") or frame[c].notna().any())]
    rows = pd.DataFrame(frame[keep])
    if "name" in rows.columns:
        rows["name"] = [facility_name(row, lang) for _, row in frame.iterrows()]
    return rows


def html_table(frame: pd.DataFrame, lang: Lang, target: float, css_class: str, config: object | None = None) -> str:
    """An escaped HTML table of ``frame`` with headers in ``lang``; numeric columns right-aligned.

    Headers and cells wrap, none is cut short. ``config`` names the services.
    """
    heads = {"population_within_target": label("catchment", lang, minutes=target)}
    numeric = [pd.api.types.is_numeric_dtype(frame[c]) and not pd.api.types.is_bool_dtype(frame[c])
               for c in frame.columns]
    header = "".join(f'<th class="{"num" if n else "text"}">'
                     f"{html.escape(heads.get(c) or column_label(c, lang, config))}</th>"
                     for c, n in zip(frame.columns, numeric, strict=True))
    body = "".join(
        "<tr>" + "".join(f'<td class="{"num" if n else "text"}">{cell_text(c, v, lang)}</td>'
                         for c, v, n in zip(frame.columns, row, numeric, strict=True)) + "</tr>"
        for row in frame.itertuples(index=False)
    )
    return (f'<div class="wide"><table class="{css_class}"><thead><tr>{header}</tr></thead>'
            f"<tbody>{body}</tbody></table></div>")


def audit_rows(audit: pd.DataFrame, lang: Lang) -> pd.DataFrame:
    """The audit as reported: :data:`AUDIT_COLUMNS` that exist, failures first, statuses in ``lang``."""
    frame = pd.DataFrame(audit)
    frame = frame[[c for c in AUDIT_COLUMNS if c in frame.columns]]
    if "status" in frame.columns:
        order = frame["status"].map(_STATUS_ORDER).fillna(len(_STATUS_ORDER))
        frame = frame.iloc[np.argsort(order.to_numpy(), kind="stable")]
        frame = frame.assign(status=[label(f"status_{s}", lang) if f"status_{s}" in LABELS else s
                                     for s in frame["status"]])
    if "measure" in frame.columns:
        frame = frame.assign(measure=[measure_text(m, lang) for m in frame["measure"]])
    return frame


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def audit_count(audit: pd.DataFrame, lang: Lang) -> str:
    """``9 checks met, 2 not met, 5 not evaluable or not set by the plan.`` in ``lang``, then the plan's baseline
    statements (status ``baseline``: not targets, so neither met nor not met) where there are any."""
    status = pd.DataFrame(audit).get("status", pd.Series(dtype=object))
    met, not_met, baseline = (int((status == s).sum()) for s in ("pass", "fail", "baseline"))
    count = label("report_audit_count", lang, met=met, not_met=not_met, other=len(status) - met - not_met - baseline)
    if baseline:
        count += ("" if lang == "zh" else " ") + label("report_audit_baseline", lang, n=baseline)
    return count


def audit_section(result: ScenarioResult, lang: Lang) -> str:
    """The standards audit: the hook for :func:`geocover.standards.audit`'s table in ``result.audit``.

    Counts the checks met (``status`` ``pass``), not met (``fail``) and the others, then lists
    them, failures first, each distinct note once as a numbered footnote. Without an audit the
    report says that this run had none.
    """
    audit = getattr(result, "audit", None)
    if audit is None:
        return f'<p class="no-audit">{html.escape(label("report_no_audit", lang))}</p>'
    count = audit_count(audit, lang)
    audit = pd.DataFrame(audit).reset_index(drop=True)
    rows = audit_rows(audit, lang)
    notes: list[str] = []
    if "note" in rows.columns:  # one footnote per distinct note: they repeat for every unit of a rule
        chinese = [[_text(audit[c].iat[i]) if c in audit.columns else None for c in ("note_zh", "quote_zh")]
                   for i in rows.index]
        texts = [note_text(n, lang, *zh) if isinstance(n, str) and n else ""
                 for n, zh in zip(rows["note"], chinese, strict=True)]
        notes = list(dict.fromkeys(filter(None, texts)))
        rows = rows.assign(note=[f"[{notes.index(n) + 1}]" if n else "" for n in texts])
    footnotes = "".join(f"<li>{html.escape(note)}</li>" for note in notes)
    return (f"<p>{html.escape(count)}</p>" + html_table(rows, lang, float(result.config.target_minutes), "audit")
            + (f'<ol class="notes">{footnotes}</ol>' if notes else ""))

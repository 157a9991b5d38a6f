"""The sentences a command prints when it is done (``geocover run``, ``audit``, ``compare``, ``site``), in English
or Simplified Chinese.

Every sentence comes from :data:`SENTENCES` through :func:`sentence`, so both languages stay complete; the words
inside them (travel modes, zone levels, audit statuses) come from :mod:`geocover.render.i18n`, their one home.
Chinese sentences end with ``。``. Error messages (exit code 2) are not summaries and stay as they are.
"""

from __future__ import annotations

from geocover.render.i18n import Lang, label, zone_level_label

SENTENCES: dict[str, dict[str, str]] = {
    "scenario": {"en": "scenario {name}: {mode}, bands {bands} min.",
                 "zh": "情景 {name}：{mode}，时间分段 {bands} 分钟。"},
    "network": {"en": "network: {nodes} nodes, {segments} segments.",
                "zh": "路网：{nodes} 个节点，{segments} 条路段。"},
    "facilities": {"en": "facilities: {count} in the study area, {unsnapped} farther than {limit_m} m from a road "
                         "(serve no one).",
                   "zh": "医疗机构：研究区内 {count} 个，其中 {unsnapped} 个距道路超过 {limit_m} 米"
                         "（不服务任何人口）。"},
    "level": {"en": "{level}: {zones} zones, {people} people, {share}% within {minutes} min, {lost} unreachable.",
              "zh": "{level}：{zones} 个分区，{people} 人，{share}% 在 {minutes} 分钟内可达，"
                    "{lost} 人无法到达任何机构。"},
    "note": {"en": "note: {note}", "zh": "说明：{note}"},
    "audit": {"en": "standards audit: {counts}.", "zh": "规划标准评估：{counts}。"},
    "audit_count": {"en": "{count} {status}", "zh": "{status} {count} 项"},
    "plan": {"en": "plan {plan}: {planned} facilities (now {current})",
             "zh": "规划 {plan}：{planned} 个医疗机构（现状 {current} 个）。"},
    "plan_level": {"en": "{level}: within {minutes} min {before} -> {after} ({change})",
                   "zh": "{level}：{minutes} 分钟内可达 {before} → {after} 人（{change}）。"},
    "sites": {"en": "{model}: {sites} site(s) from {candidates} candidates ({method}, {status}{gap}, {seconds} s)",
              "zh": "{model}：从 {candidates} 个候选点中选出 {sites} 个新址"
                    "（{method}，{status}{gap}，用时 {seconds} 秒）。"},
    "sites_gap": {"en": ", gap {gap}", "zh": "，间隙 {gap}"},
    "sites_covered": {"en": "covered {before} -> {after} of {total} ({share_before} -> {share_after})",
                      "zh": "覆盖人口 {before} → {after}，共 {total} 人（{share_before} → {share_after}）。"},
    "sites_target": {"en": "target {target} cannot be reached: at most {achievable}; {beyond} people are beyond every "
                           "candidate",
                     "zh": "目标 {target} 无法达到：最多 {achievable}；{beyond} 人超出所有候选点的覆盖范围。"},
    "wrote": {"en": "  wrote {path}", "zh": "  已写出 {path}"},
    "sites_audit": {"en": "audit: {fixed} failing row(s) pass after the new sites",
                    "zh": "规划标准评估：新址建成后 {fixed} 项由未达标变为达标。"},
}
"""Each summary sentence in English and Chinese, with its fields in braces."""

WORDS_ZH: dict[str, str] = {
    "mclp": "最大覆盖模型", "lscp": "集合覆盖模型", "pmedian": "P 中值模型", "ambulance": "急救站布局模型",
    "greedy": "贪心算法", "exact": "精确求解", "Optimal": "最优解", "Time limit reached": "达到时间上限",
    "Infeasible": "无可行解",
}
"""Chinese for the siting models, methods and solver statuses a summary names; others are printed as given."""


def sentence(key: str, lang: Lang, **values: object) -> str:
    """The summary sentence ``key`` of :data:`SENTENCES` in ``lang`` with ``values`` filled in (as given)."""
    return SENTENCES[key][lang].format(**values)


def level_text(config: object, level: str, lang: Lang) -> str:
    """A zone level as the summary names it: as configured in English, its reader's name in Chinese
    (:func:`~geocover.render.i18n.zone_level_label`)."""
    return zone_level_label(config, level, lang) if lang == "zh" else level


def word(text: str, lang: Lang) -> str:
    """A siting model, method or solver status in ``lang`` (:data:`WORDS_ZH`)."""
    return WORDS_ZH.get(text, text) if lang == "zh" else text


def audit_counts(counts: dict[str, int], lang: Lang) -> str:
    """The audit sentence: rows per status, in the order given (``3 pass, 1 fail`` / ``达标 3 项，未达标 1 项``)."""
    parts = [sentence("audit_count", lang, count=count,
                      status=status if lang == "en" else label(f"status_{status}", lang))
             for status, count in counts.items()]
    return sentence("audit", lang, counts=(", " if lang == "en" else "，").join(parts))

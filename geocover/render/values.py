"""Values the pipeline and the standards audit write in English, as the report's reader reads them.

The audit's measures in plain words (tier identifiers as names) in English or Chinese; in Chinese also
urban/rural and how it was decided, the units to add, the data missing and the audit engine's notes.
Names and codes from the data stay as given.
"""

from __future__ import annotations

import re

from geocover.io.statistics import ALIASES, VALUE_FIELDS
from geocover.render.i18n import LEVEL_NAMES, TIER_NAMES, Lang, label, mode_name

#: Words of the audit's measures as readers see them, applied in order after the tier names.
MEASURE_WORDS: dict[str, list[tuple[str, str]]] = {
    "en": [(r"\bhas_(\w+)", r"a \1"), (r"meets_(\w+)", r"meeting the \1"), (r"provides_(\w+)", r"providing \1"),
           (r"_", " "), (r"\btcm\b", "TCM"), (r" / ", ", ")],
    "zh": [(r"% of urban residents within ([\d.]+) min", r"\1分钟内可达城镇居民占比（%）"),
           (r"% of rural residents within ([\d.]+) min", r"\1分钟内可达乡村居民占比（%）"),
           (r"% of residents within ([\d.]+) min", r"\1分钟内可达居民占比（%）"),
           (r"% of urban residents within ([\d.–]+) km", r"\1公里内城镇居民占比（%）"),
           (r"% of rural residents within ([\d.–]+) km", r"\1公里内乡村居民占比（%）"),
           (r"% of (.+?) with (.+)", r"具备\2的\1占比（%）"), (r"facilities \((.+)\)", r"\1机构数"),
           (r"(.+?) per ([\d,]+) residents", r"每\2居民\1数"), (r"ambulances per population", "救护车配置（按人口）"),
           (r"ambulance / emergency service radius", "急救服务半径"), (r"emergency response time", "急救反应时间"),
           (r"has_fever_room_or_clinic", "发热诊室或门诊"), (r"has_fever_clinic", "发热门诊"),
           (r"has_geriatrics_department", "老年医学科"), (r"has_tcm_department", "中医科"), (r"has_tcm_hall", "中医馆"),
           (r"has_public_health_physician", "公共卫生医师"), (r"meets_basic_standard", "达到基本标准"),
           (r"meets_recommended_standard", "达到推荐标准"), (r"provides_tcm", "中医药服务"),
           (r"family_doctors", "家庭医生"), (r"general practitioners", "全科医生"), (r"doctors", "执业（助理）医师"),
           (r"nurses", "注册护士"), (r"beds", "床位"), (r"1,000", "千"), (r"10,000", "万"), (r" / ", "、"),
           (r" or ", "或"), (r"(?<![A-Za-z])other(?![A-Za-z])", "其他"),
           (r"travel minutes", "出行时间（分钟）"), (r"^median ", "中位"), (r"^mean ", "平均"),
           (r"^travel-time service circle \(e\.g\. ([\d.]+) minutes\)$", r"出行时间服务圈（如\1分钟）"),
           (r"(?<![A-Za-z_])standardised(?![A-Za-z_])", "标准化建设"), (r" \(by population band\)$", "（按人口分档）"),
           (r"^a township health centre in every township$", "每个乡镇一所乡镇卫生院")],
}


#: Chinese for the values the pipeline and the audit write in English, by column: (pattern, replacement) in order;
#: a cell none of them matches keeps its value (names and codes from the data).
VALUE_WORDS_ZH: dict[str, list[tuple[str, str]]] = {
    "urban_rural": [(r"^urban$", "城镇"), (r"^rural$", "农村")],
    "urban_rural_source": [
        (r"^code (\d+)$", r"城乡划分代码 \1"), (r"^column (.+)$", r"字段 \1"), (r"^street \(街道\)$", "街道"),
        (r"^county seat$", "县城驻地"),
        (r"^town \(镇\), built-up ([\d.]+)% >= ([\d.]+)%$", r"镇，建成区占比 \1% ≥ \2%"),
        (r"^zone, built-up ([\d.]+)% >= ([\d.]+)%$", r"建成区占比 \1% ≥ \2%"), (r"^default: rural$", "默认：农村"),
        (r"^roll-up: urban if any part is urban$", "上级汇总：任一部分为城镇即为城镇")],
    "to_add_unit": [(r"\burban\b", "城镇"), (r"\brural\b", "农村"),
                    (r"^residents to bring within reach$", "需纳入可达范围的居民"),
                    (r"^(城镇|农村) residents to bring within the radius$", r"需纳入急救半径的\1居民"),
                    (r"^facilities to give (\S+)$", r"需配备\1的机构")],
    "missing": [(r"^zones at level (\S+)$", r"\1层级的区域"), (r"^the layer has no (.+) facilities$", r"图层中没有\1"),
                (r"population \(statistics(?: or |或)zones\)", "人口（统计表或区域表）"),
                (r"^facilities layer$", "机构图层"),
                (r"^facilities of tier (.+)$", r"\1类机构"),
                (r"^zones \(the zone table is empty\)$", "区域（区域表为空）"),
                (r"^(facilities\.\w+) for (\d+) facilities$", r"\2处机构的 \1"), (r"^population > 0$", "人口 > 0"),
                (r"^zone '(.+)' at level (\S+)$", r"\2层级的区域“\1”"), (r" or ", "或"),
                (r"^travel times to (.+) only \(configure a service with exactly these facilities\)$",
                 r"仅到\1机构的出行时间（请配置仅含这些机构的服务）"), (r"(\w+) in True", r"\1为真的"),
                (r"grade (\S+) or above", r"\1级及以上"), (r"the facilities ", "机构 "),
                (r"^travel times to (.+) only \(the zone table's also reach (.+)\)$",
                 r"仅到\1的出行时间（区域表还包括\2）"),
                (r"^tiers the travel times were computed to \(rule: (.+)\)$", r"出行时间所计算的机构类别（标准：\1）")],
}
#: Chinese for the notes the audit engine writes (a note is fragments joined by "; ").
NOTE_WORDS_ZH: list[tuple[str, str]] = [
    (r"^baseline claim of the plan, not a target$", "规划的现状表述，不是目标"),
    (r"^the plan's target is approximate \(左右\)$", "规划目标为约数（左右）"),
    (r"^the claim holds in the data$", "数据支持该表述"),
    (r"^the claim does not hold in the data$", "数据不支持该表述"),
    (r"^the plan sets no travel mode$", "规划未规定出行方式"), (r"^the zone table is by (\w+)$", r"区域表按\1计算"),
]


def statistics_name(field: str) -> str:
    """The Chinese name of a statistics column (``beds`` → ``床位``): the first Chinese header
    :func:`geocover.io.statistics.read_statistics` reads it from; a column it does not know keeps its name."""
    return next((alias for alias in ALIASES.get(field, ()) if re.search(r"[\u4e00-\u9fff]", alias)), field)


def _statistics_words(text: str) -> str:
    """Statistics fields named in ``text`` (``gps per 10,000 residents``, ``statistics.beds``) in Chinese."""
    text = re.sub(r"\bstatistics\.(\w+)", lambda m: f"统计表“{statistics_name(m.group(1))}”列", text)
    for field in sorted((f for f in VALUE_FIELDS if f in ALIASES), key=len, reverse=True):
        text = re.sub(rf"(?<![A-Za-z_.]){field}(?![A-Za-z_])", statistics_name(field), text)
    return text


def _facility_fields(text: str) -> str:
    """Facility-layer fields named in ``text`` in Chinese with their name as given, which the layer needs
    (``facilities.has_tcm_hall`` → ``机构图层字段“中医馆”（has_tcm_hall）``); a field without Chinese words stays."""
    def field(match: re.Match) -> str:
        words = measure_text(match.group(1), "zh")
        return match.group(0) if words == match.group(1) else f"机构图层字段“{words}”（{match.group(1)}）"
    return re.sub(r"\bfacilities\.(\w+)", field, text)


def value_text(column: str, value: str, lang: Lang) -> str:
    """A value the pipeline or the audit wrote in English (``urban``, ``default: rural``, an audit note) in
    ``lang``; names and codes from the data as given."""
    if lang == "en":
        return value
    if column == "note":
        return note_text(value, lang)
    if column == "missing":
        value = _statistics_words(value)
    if re.fullmatch(r"[\w.]+(, [\w.]+)*", value) and column != "urban_rural":  # field names: codes, as given
        return _facility_fields(value).replace(", ", "、") if column == "missing" else value
    for pattern, replacement in VALUE_WORDS_ZH.get(column, []):
        value = re.sub(pattern, replacement, value)
    if column in ("missing", "to_add_unit"):
        value = measure_text(value, lang)
        for level, names in LEVEL_NAMES.items():
            value = re.sub(rf"'{level}'", names[lang], value)
    for level, names in LEVEL_NAMES.items():
        value = re.sub(rf"\b{level}(?=层级)", names[lang], value)
    return value


def note_text(note: str, lang: Lang, note_zh: str | None = None, quote_zh: str | None = None) -> str:
    """An audit note in ``lang``: in Chinese, the engine's own fragments translated; fragments written for a rule
    in English are left out, pointing to ``audit.csv``, which keeps every note whole. In their place the plan
    file's Chinese note (``note_zh``) where it has one, else the plan's own words (``quote_zh``)."""
    if lang == "en":
        return note
    kept, dropped = [], False
    note = re.sub(r"warning: the plan period (\d+)–(\d+) has ended; its targets are those of a past plan",
                  r"注意：规划期 \1–\2 年已结束，其目标为过往规划的目标", note)
    for fragment in note.split("; "):
        fragment = re.sub(r"^the zone table is by (\w+)$",
                          lambda m: f"the zone table is by {mode_name(m.group(1), lang)}", fragment)
        for pattern, replacement in NOTE_WORDS_ZH:
            fragment = re.sub(pattern, replacement, fragment)
        if re.search(r"[A-Za-z]{3,}", re.sub(r"[\w.]*[_.][\w.]*", "", fragment)):
            dropped = True
        else:
            kept.append(fragment)
    if dropped and note_zh:
        kept.append(note_zh.rstrip("。"))
    elif dropped and quote_zh:
        kept.append(label("note_quote", lang, quote=quote_zh.rstrip("。")))
    return "；".join(kept + ([label("notes_in_csv", lang)] if dropped else []))


def measure_text(measure: object, lang: Lang) -> str:
    """An audit measure in plain words: tier identifiers as names (``township health centre``), and in
    Chinese the measure itself (``% of residents within 15 min`` → ``15分钟内可达居民占比（%）``)."""
    text = "" if measure is None or (isinstance(measure, float) and measure != measure) else str(measure)
    for tier in sorted(TIER_NAMES, key=len, reverse=True):  # "doctors per 1,000 residents": staff, not a tier
        text = re.sub(rf"(?<![A-Za-z_]){tier}(?![A-Za-z_])(?! per )", TIER_NAMES[tier][lang], text) \
            if tier != "other" else text
    for pattern, replacement in MEASURE_WORDS[lang]:
        text = re.sub(pattern, replacement, text)
    return _statistics_words(text) if lang == "zh" else text

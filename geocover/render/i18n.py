"""Labels of the maps and the report in English (``en``) or Simplified Chinese (``zh``).

Every text a reader sees (layer names, popup and table headers, legend, report) comes from
:data:`LABELS` through :func:`label`, so both languages stay complete: a key missing in
one language is a ``KeyError`` in the tests, not an English word on a Chinese map.
"""

from __future__ import annotations

import re
from typing import Literal

Lang = Literal["en", "zh"]
LANGS: tuple[Lang, ...] = ("en", "zh")

#: CSS font stack that renders Chinese with Noto Sans CJK SC (Debian ``fonts-noto-cjk``) or the
#: system fonts of Windows and macOS.
CSS_FONTS = ('"Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "Microsoft YaHei", '
             '"PingFang SC", "Helvetica Neue", Arial, sans-serif')

LABELS: dict[str, dict[str, str]] = {
    # layer names
    "layer_band": {"en": "Within {minutes} min ({mode})", "zh": "{minutes}分钟内可达（{mode}）"},
    "layer_zones": {"en": "% of people within {minutes} min, by {level}", "zh": "{minutes}分钟内人口占比（按{level}）"},
    "layer_gaps": {"en": "Gaps: people beyond {minutes} min", "zh": "服务空白区：{minutes}分钟以外人口"},
    "layer_facilities": {"en": "Facilities: {tier}", "zh": "医疗机构：{tier}"},
    "layer_surface": {"en": "Travel time surface ({mode})", "zh": "出行时间面（{mode}）"},
    "layer_service": {"en": "{service} within {minutes} min ({mode})",
                      "zh": "{service}{minutes}分钟内可达（{mode}）"},
    "layer_ambulance_straight": {"en": "Ambulance radius, straight line (urban {urban} km, rural {rural} km)",
                                 "zh": "急救半径（直线，城镇{urban}公里、农村{rural}公里）"},
    "layer_ambulance_road": {"en": "Ambulance radius, by road (urban {urban} km, rural {rural} km)",
                             "zh": "急救半径（道路，城镇{urban}公里、农村{rural}公里）"},
    "group_base": {"en": "Base data", "zh": "基础数据"},
    "group_travel": {"en": "Travel time", "zh": "出行时间"},
    "group_standards": {"en": "Standards", "zh": "规划标准"},
    "group_ambulance": {"en": "Ambulance", "zh": "急救"},
    "group_siting": {"en": "Siting", "zh": "选址"},
    "layers": {"en": "Layers", "zh": "图层"},
    "legend": {"en": "Legend", "zh": "图例"},
    "legend_audit_fail": {"en": "zone fails a standard", "zh": "有未达标项的区域"},
    "legend_audit_pass": {"en": "zone meets every standard judged", "zh": "已评估标准均达标的区域"},
    "legend_sites": {"en": "Proposed site (number = rank)", "zh": "建议选址（数字为排序）"},
    "unnamed": {"en": "{tier} {id}", "zh": "{tier}（编号 {id}）"},
    "layer_ambulance_response": {"en": "Ambulance response within {minutes} min",
                                 "zh": "急救反应时间{minutes}分钟以内"},
    "layer_audit": {"en": "Standards: zones failing", "zh": "规划标准：未达标区域"},
    "layer_sites": {"en": "Proposed sites", "zh": "建议选址"},
    "site_popup": {"en": "Proposed site {rank}: adds {people} people", "zh": "建议选址{rank}：新增覆盖{people}人"},
    "audit_failed": {"en": "Standards failed / judged", "zh": "未达标 / 已评估"},
    "audit_rules": {"en": "Failed rules", "zh": "未达标条目"},
    "base_osm": {"en": "OpenStreetMap", "zh": "OpenStreetMap"},
    "base_tianditu": {"en": "Tianditu", "zh": "天地图"},
    "base_amap": {"en": "Amap", "zh": "高德地图"},
    # popup, tooltip and table fields
    "name": {"en": "Name", "zh": "名称"},
    "tier": {"en": "Tier", "zh": "类别"},
    "grade": {"en": "Grade", "zh": "等级"},
    "capacity": {"en": "Capacity", "zh": "服务能力（床位）"},
    "catchment": {"en": "People within {minutes} min, nearest facility",
                  "zh": "{minutes}分钟内服务人口（最近机构）"},
    "population_nearest": {"en": "People for whom it is the nearest", "zh": "以其为最近机构的人口"},
    "snapped": {"en": "On the road network", "zh": "已接入路网"},
    "snap_distance_m": {"en": "Distance to road (m)", "zh": "距道路距离（米）"},
    "zone_level": {"en": "Level", "zh": "层级"},
    "zone_id": {"en": "Code", "zh": "代码"},
    "zone_name": {"en": "Zone", "zh": "区域"},
    "population": {"en": "Population", "zh": "人口"},
    "pop_within": {"en": "People within {minutes} min", "zh": "{minutes}分钟内人口"},
    "pct_within": {"en": "% within {minutes} min", "zh": "{minutes}分钟内人口占比（%）"},
    "pop_beyond": {"en": "People beyond {minutes} min", "zh": "{minutes}分钟以外人口"},
    "pop_unreachable": {"en": "People who reach no facility", "zh": "无法到达任何机构的人口"},
    "mean_minutes": {"en": "Mean minutes", "zh": "平均出行时间（分钟）"},
    "p90_minutes": {"en": "90th percentile minutes", "zh": "90%分位出行时间（分钟）"},
    "facilities": {"en": "Facilities", "zh": "机构数"},
    "facilities_tier": {"en": "Facilities: {tier}", "zh": "机构数：{tier}"},
    "gap_id": {"en": "Gap", "zh": "空白区编号"},
    "unreachable_population": {"en": "Of whom reach no facility", "zh": "其中无法到达任何机构"},
    "yes": {"en": "yes", "zh": "是"},
    "no": {"en": "no", "zh": "否"},
    # legend and map furniture
    "legend_percent": {"en": "% of people within {minutes} min", "zh": "{minutes}分钟内人口占比（%）"},
    "legend_minutes": {"en": "Travel time ({mode}, min)", "zh": "出行时间（{mode}，分钟）"},
    "legend_facilities": {"en": "Facilities", "zh": "医疗机构"},
    "legend_walk": {"en": "incl. the walk to the road ({kmh} km/h)", "zh": "含步行到道路的时间（{kmh}公里/小时）"},
    "legend_gaps": {"en": "Gap: people beyond {minutes} min", "zh": "服务空白区（{minutes}分钟以外）"},
    "legend_no_people": {"en": "no people", "zh": "无人口"},
    "band_upto": {"en": "≤ {minutes}", "zh": "≤ {minutes}"},
    "band_between": {"en": "{low}–{high}", "zh": "{low}–{high}"},
    "band_beyond": {"en": "> {minutes}", "zh": "> {minutes}"},
    "unreachable": {"en": "no facility reachable", "zh": "无法到达"},
    "fullscreen": {"en": "Full screen", "zh": "全屏"},
    "measure_tool": {"en": "Measure a distance: click points, click the ruler again to stop",
                "zh": "测量距离：依次点击地图，再次点击标尺结束"},
    "measure_hint": {"en": "click on the map", "zh": "请点击地图"},
    "north": {"en": "N", "zh": "北"},
    # report
    "report_title": {"en": "Access to health facilities: {title}", "zh": "医疗机构可达性报告：{title}"},
    "report_scenario": {"en": "Scenario {name}: {mode}, bands {bands} min, target {target} min.",
                        "zh": "情景 {name}：{mode}，时间分段 {bands} 分钟，目标 {target} 分钟。"},
    "report_audit": {"en": "Planning standards met and not met", "zh": "规划标准达标情况"},
    "report_audit_line": {"en": "Planning standards{plan}: {count}", "zh": "规划标准{plan}：{count}"},
    "report_no_audit": {"en": "No standards audit in this run.", "zh": "本次运行未进行规划标准审核。"},
    "report_audit_count": {"en": "{met} checks met, {not_met} not met, {other} not evaluable or not set by the plan.",
                           "zh": "达标 {met} 项，未达标 {not_met} 项，无法评估或规划未规定 {other} 项。"},
    "report_audit_baseline": {"en": "{n} state the plan's baseline, not a target.",
                              "zh": "另有 {n} 项为规划的现状表述（非目标）。"},
    "report_contents": {"en": "Contents", "zh": "目录"},
    "report_method": {"en": "How the travel times were computed", "zh": "出行时间的计算方法"},
    "report_method_legs": {
        "en": "The travel time of a population cell is the walk from the cell's centre to its road at {kmh} km/h "
              "(the off-road minutes, band 2 of travel_time.tif) plus the {mode} on the road network to the "
              "nearest facility. A cell more than {limit_m} m from every road reaches no facility.",
        "zh": "每个人口栅格的出行时间 = 从栅格中心以 {kmh} 公里/小时步行到最近道路的时间（离路步行时间，"
              "即 travel_time.tif 的第 2 波段）+ 沿道路网络{mode}到最近医疗机构的时间。距所有道路超过 {limit_m} 米"
              "的栅格视为无法到达任何机构。"},
    "report_method_walk": {
        "en": "Half of the people walk {median} min or less to a road; {people} people ({pct}%) walk more than "
              "{minutes} min, and for them the walk is a large part of the travel time.",
        "zh": "一半人口步行到道路的时间不超过 {median} 分钟；{people} 人（{pct}%）需步行 {minutes} 分钟以上，"
              "其出行时间中步行占很大部分。"},
    "report_map_caption": {
        "en": "Travel time to the nearest facility ({mode}, minutes, the walk to the road included); hatched: "
              "people beyond {minutes} min.",
        "zh": "到最近医疗机构的出行时间（{mode}，分钟，含步行到道路的时间）；斜线区域：{minutes}分钟以外的人口。"},
    "report_input_file": {"en": "{name} (dated {date})", "zh": "{name}（文件日期 {date}）"},
    "rule_id": {"en": "Standard", "zh": "标准编号"},
    "kind": {"en": "Kind of rule", "zh": "标准类型"},
    "target_max": {"en": "Upper target", "zh": "目标上限"},
    "direction": {"en": "Direction", "zh": "方向（不低于/不高于）"},
    "approximately": {"en": "Approximate target", "zh": "约数目标"},
    "conflicts_with": {"en": "Conflicts with", "zh": "与之冲突的标准"},
    "origin": {"en": "Origin", "zh": "来源"},
    "note_zh": {"en": "Note (Chinese)", "zh": "中文说明"},
    "quote_zh": {"en": "Plan text", "zh": "规划原文"},
    "seed_line": {"en": "Line in the plan", "zh": "规划原文行号"},
    "section": {"en": "Section of the plan", "zh": "规划章节"},
    "target_year": {"en": "Target year", "zh": "目标年份"},
    "binding": {"en": "Binding", "zh": "约束性"},
    "baseline": {"en": "Baseline statement", "zh": "现状表述"},
    "measure": {"en": "Measure", "zh": "指标"},
    "unit_level": {"en": "Unit level", "zh": "单元层级"},
    "unit_name": {"en": "Unit", "zh": "单元"},
    "value": {"en": "Value", "zh": "现状值"},
    "target": {"en": "Target", "zh": "目标值"},
    "status": {"en": "Status", "zh": "结果"},
    "to_add": {"en": "To add", "zh": "需增加"},
    "to_add_unit": {"en": "Of", "zh": "单位"},
    "missing": {"en": "Missing data", "zh": "缺少的数据"},
    "note": {"en": "Note", "zh": "说明"},
    "status_pass": {"en": "met", "zh": "达标"},
    "status_fail": {"en": "not met", "zh": "未达标"},
    "status_not evaluable": {"en": "not evaluable", "zh": "无法评估"},
    "status_not specified by this plan": {"en": "not set by the plan", "zh": "规划未规定"},
    "parent_id": {"en": "Parent code", "zh": "上级代码"},
    "urban_rural": {"en": "Urban or rural", "zh": "城乡"},
    "urban_rural_source": {"en": "Urban or rural: source", "zh": "城乡划分依据"},
    "is_county_seat": {"en": "County seat", "zh": "县城驻地"},
    "report_zones": {"en": "Coverage by zone", "zh": "各区域覆盖情况"},
    "report_facilities": {"en": "Facilities", "zh": "医疗机构"},
    "report_charts": {"en": "Charts", "zh": "图表"},
    "chart_bands": {"en": "People by travel time: {level}", "zh": "按出行时间分组的人口：{level}"},
    "chart_percent": {"en": "% of people within {minutes} min: {level}", "zh": "{minutes}分钟内人口占比：{level}"},
    "chart_people": {"en": "people", "zh": "人"},
    "chart_subset": {"en": "The {n} zones with the most people beyond {minutes} min of {total}.",
                     "zh": "共 {total} 个区域，显示 {minutes} 分钟以外人口最多的 {n} 个。"},
    "report_map": {"en": "Map", "zh": "地图"},
    "report_map_link": {"en": "Interactive map (map.html, opens offline)", "zh": "交互式地图（map.html，可离线打开）"},
    "report_sources": {"en": "Data sources and licences", "zh": "数据来源与许可"},
    "report_inputs": {"en": "Input files: {files}.", "zh": "输入文件：{files}。"},
    "report_china": {"en": "Maps published in China must use approved base maps and the standard boundaries "
                           "(map review number, 审图号); this report's maps are for analysis.",
                     "zh": "在中国公开出版的地图须使用经审核的底图和标准行政区划界线（审图号）；"
                           "本报告中的地图仅供分析使用。"},
    "report_key_figures": {"en": "Key figures", "zh": "主要指标"},
    "report_most_beyond": {"en": "The {n} zones with the most people beyond {minutes} min",
                           "zh": "{minutes}分钟以外人口最多的{n}个区域"},
    "report_audit_by_rule": {"en": "Planning standards, by rule", "zh": "规划标准（按条目汇总）"},
    "report_appendix": {"en": "Appendix: every standard for every unit", "zh": "附录：各单元逐条标准审核结果"},
    "zone_level_label": {"en": "Zone level", "zh": "区域层级"},
    "zones_count": {"en": "Zones", "zh": "区域数"},
    "count_met": {"en": "Units met", "zh": "达标单元数"},
    "count_not_met": {"en": "Units not met", "zh": "未达标单元数"},
    "count_other": {"en": "Not evaluable or not set", "zh": "无法评估或未规定"},
    "count_baseline": {"en": "Baseline (not a target)", "zh": "现状表述（非目标）"},
    "worst_units": {"en": "Furthest from the standard", "zh": "差距最大的单元"},
    "report_sites": {"en": "Proposed sites", "zh": "建议选址"},
    "report_sites_effect": {"en": "With the {n} proposed sites, the people covered in the study area rise from "
                                  "{before} to {after} (proposed_sites.csv).",
                            "zh": "新增{n}处建议选址后，研究区覆盖人口由{before}人增至{after}人"
                                  "（proposed_sites.csv）。"},
    "rank": {"en": "Rank", "zh": "排序"},
    "coordinates": {"en": "Latitude, longitude", "zh": "纬度，经度"},
    "population_added": {"en": "People it adds", "zh": "新增覆盖人口"},
    "cumulative_population": {"en": "People covered with it", "zh": "累计覆盖人口"},
    "report_page": {"en": "page {page}", "zh": "第 {page} 页"},
    "report_sites_box": {"en": "With the {n} proposed sites ({level} zones)", "zh": "新增{n}处建议选址后（{level}）"},
    "sites_within": {"en": "People within {minutes} min: {before} → {after}",
                     "zh": "{minutes}分钟内人口：{before} → {after}"},
    "sites_unreachable": {"en": "People who reach no facility: {before} → {after}",
                          "zh": "无法到达任何机构的人口：{before} → {after}"},
    "pop_within_before": {"en": "People within {minutes} min, now", "zh": "现状{minutes}分钟内人口"},
    "pop_within_after": {"en": "People within {minutes} min, with the sites", "zh": "新增选址后{minutes}分钟内人口"},
    "pop_unreachable_before": {"en": "People who reach no facility, now", "zh": "现状无法到达任何机构的人口"},
    "pop_unreachable_after": {"en": "People who reach no facility, with the sites",
                              "zh": "新增选址后无法到达任何机构的人口"},
    "report_pdf_fallback": {"en": "report.pdf drawn with Matplotlib pages, not as the printed report.html: "
                                  "WeasyPrint could not load ({error}); install Pango (apt-get install "
                                  "libpango-1.0-0 libpangoft2-1.0-0) for the full PDF",
                            "zh": "report.pdf 由 Matplotlib 分页绘制，而非 report.html 的打印版：WeasyPrint 无法加载"
                                  "（{error}）；安装 Pango（apt-get install libpango-1.0-0 libpangoft2-1.0-0）"
                                  "后可生成完整 PDF"},
    "status_baseline": {"en": "baseline (not a target)", "zh": "现状表述（非目标）"},
    "pop_urban_within": {"en": "Urban people within {minutes} min", "zh": "{minutes}分钟内城镇人口"},
    "catchment_total": {"en": "People within {minutes} min of it (any facility nearer or not)",
                        "zh": "其{minutes}分钟内人口（含离其他机构更近者）"},
    "catchment_exclusive": {"en": "People within {minutes} min for whom it is the nearest",
                            "zh": "其{minutes}分钟内以其为最近机构的人口"},
    "offroad_minutes": {"en": "Walk to the road (min)", "zh": "离路步行时间（分钟）"},
    "facility_id": {"en": "Facility code", "zh": "机构编号"},
    "unit_id": {"en": "Unit code", "zh": "单元代码"},
    "nearest_same_tier_minutes": {"en": "Minutes to the nearest facility of its tier",
                                  "zh": "到最近同类机构的时间（分钟）"},
    "referral_tier": {"en": "Referral to", "zh": "转诊上级机构类别"},
    "referral_minutes": {"en": "Minutes to the referral facility", "zh": "到转诊上级机构的时间（分钟）"},
    "lon": {"en": "Longitude", "zh": "经度"},
    "lat": {"en": "Latitude", "zh": "纬度"},
    "median_minutes": {"en": "Median minutes", "zh": "出行时间中位数（分钟）"},
    "facilities_per_10k": {"en": "Facilities per 10,000 people", "zh": "每万人机构数"},
    "facilities_tier_per_10k": {"en": "{tier} per 10,000 people", "zh": "每万人{tier}数"},
    "flag_no": {"en": "No {tier}", "zh": "无{tier}"},
    "flag_below_target": {"en": "Below the target", "zh": "未达目标"},
    "pop_urban": {"en": "Urban population", "zh": "城镇人口"},
    "pop_rural": {"en": "Rural population", "zh": "农村人口"},
    "pop_radius": {"en": "People within {km} km in a straight line ({area})", "zh": "直线{km}公里内人口（{area}）"},
    "pop_radius_2plus": {"en": "People within {km} km of two or more ({area})",
                         "zh": "直线{km}公里内有两处及以上机构的人口（{area}）"},
    "pop_road_radius": {"en": "People within {km} km by road ({area})", "zh": "道路{km}公里内人口（{area}）"},
    "pop_response": {"en": "People an ambulance reaches within {minutes} min", "zh": "急救{minutes}分钟内可达人口"},
    "mean_response_minutes": {"en": "Mean ambulance response (min)", "zh": "平均急救反应时间（分钟）"},
    "tier_minutes": {"en": "{stat} minutes to a {tier}", "zh": "到{tier}的{stat}出行时间（分钟）"},
    "tier_unreachable": {"en": "People who reach no {tier}", "zh": "无法到达{tier}的人口"},
    "pop_offroad_over": {"en": "People more than {metres} m off-road", "zh": "距道路{metres}米以上的人口"},
    "service_column": {"en": "{service}: {column}", "zh": "{service}：{column}"},
    "urban": {"en": "urban", "zh": "城镇"},
    "rural": {"en": "rural", "zh": "农村"},
    "stat_mean": {"en": "Mean", "zh": "平均"},
    "stat_median": {"en": "Median", "zh": "中位"},
    "stat_p90": {"en": "90th percentile", "zh": "90%分位"},
    "notes_in_csv": {"en": "", "zh": "（其余说明为英文，见 audit.csv 的 note 列）"},
    "note_quote": {"en": "the plan: {quote}", "zh": "规划原文：“{quote}”"},
}

MODES: dict[str, dict[str, str]] = {
    "walk": {"en": "walk", "zh": "步行"},
    "bike": {"en": "bike", "zh": "骑行"},
    "drive": {"en": "drive", "zh": "驾车"},
    "ambulance": {"en": "ambulance", "zh": "救护车"},
}

TIER_NAMES: dict[str, dict[str, str]] = {
    "hospital": {"en": "hospital", "zh": "医院"},
    "central_township_health_centre": {"en": "central township health centre", "zh": "中心乡镇卫生院"},
    "township_health_centre": {"en": "township health centre", "zh": "乡镇卫生院"},
    "community_health_centre": {"en": "community health centre", "zh": "社区卫生服务中心"},
    "community_health_station": {"en": "community health station", "zh": "社区卫生服务站"},
    "village_clinic": {"en": "village clinic", "zh": "村卫生室"},
    "emergency_centre": {"en": "emergency centre", "zh": "急救中心"},
    "emergency_station": {"en": "emergency station", "zh": "急救站"},
    "clinic": {"en": "clinic", "zh": "门诊部"},
    "doctors": {"en": "doctors", "zh": "诊所"},
    "other": {"en": "other", "zh": "其他"},
}

LEVEL_NAMES: dict[str, dict[str, str]] = {
    "province": {"en": "province", "zh": "省"},
    "city": {"en": "city", "zh": "市"},
    "county": {"en": "county", "zh": "县"},
    "township": {"en": "township", "zh": "乡镇"},
    "street": {"en": "street", "zh": "街道"},
    "township_or_street": {"en": "township or street", "zh": "乡镇（街道）"},
    "village": {"en": "village", "zh": "行政村"},
    "community": {"en": "community", "zh": "社区"},
    "village_or_community": {"en": "village or community", "zh": "村（社区）"},
    "island": {"en": "island", "zh": "岛"},
    "commune": {"en": "commune", "zh": "市镇"},
}


def minutes_text(minutes: float) -> str:
    """``15`` for 15.0, ``7.5`` for 7.5: minutes as they appear in labels."""
    return f"{minutes:g}"


def label(key: str, lang: Lang, **values: object) -> str:
    """The label ``key`` in ``lang`` with ``values`` filled in.

    Parameters
    ----------
    key : str
        A key of :data:`LABELS`.
    lang : {"en", "zh"}
    **values
        Fields of the label, e.g. ``minutes=15``; floats are written with ``:g``.

    Returns
    -------
    str
        Plain text: escape it before it goes into HTML.
    """
    filled = {k: minutes_text(v) if isinstance(v, float) else v for k, v in values.items()}
    return LABELS[key][lang].format(**filled)


def title(config: object, lang: Lang) -> str:
    """The map and report title: ``map.title_zh`` for Chinese when given, else ``map.title``, else the name."""
    chinese = config.map.title_zh if lang == "zh" else None
    return chinese or config.map.title or config.name


#: Chinese for the words of the usual data credits, applied in order; names and licences stay as given.
ATTRIBUTION_WORDS_ZH: list[tuple[str, str]] = [
    (r"\bMap data ©", "地图数据 ©"), (r"OpenStreetMap contributors", "OpenStreetMap 贡献者"),
    (r"\b[Pp]opulation ©", "人口数据 ©"), (r"\b[Ee]levation ©", "高程数据 ©"), (r"\b[Bb]uilt-up ©", "建成区数据 ©"),
    (r",? via the (\S+) package", r"，经 \1 软件包读取"), (r" ?\(([^()]*)\)", r"（\1）"), (r"; ", "；"),
]


def attribution_text(config: object, lang: Lang) -> str:
    """The map's data credits (``map.attribution``) in ``lang``: in Chinese the usual words translated
    (``Map data © OpenStreetMap contributors (ODbL)`` → ``地图数据 © OpenStreetMap 贡献者（ODbL）``), the names
    and licences as given."""
    text = config.map.attribution
    for pattern, replacement in ATTRIBUTION_WORDS_ZH if lang == "zh" else []:
        text = re.sub(pattern, replacement, text)
    return text


def _configured(item: object, lang: Lang) -> str | None:
    """The ``label`` (``label_zh`` in Chinese, else ``label``) a user gave a config item, if any."""
    chinese = getattr(item, "label_zh", None) if lang == "zh" else None
    return chinese or getattr(item, "label", None)


def zone_level_label(config: object, level: str, lang: Lang) -> str:
    """A zone level as readers see it: the zones' ``label``/``label_zh``, else :func:`level_name`."""
    for zones in config.zones:
        if zones.level == level and _configured(zones, lang):
            return _configured(zones, lang)
    return level_name(level, lang)


def service_label(service: object, lang: Lang) -> str:
    """A service circle as readers see it: its ``label``/``label_zh``, else its tiers (``clinic or doctors``)."""
    given = _configured(service, lang)
    if given:
        return given
    if not service.tiers:
        return {"en": "any facility", "zh": "任一医疗机构"}[lang]
    joiner = {"en": " or ", "zh": "或"}[lang]
    text = joiner.join(tier_name(t, lang) for t in service.tiers)
    return text[:1].upper() + text[1:] if lang == "en" else text


def mode_name(mode: str, lang: Lang) -> str:
    """The travel mode in ``lang`` (``drive`` → 驾车)."""
    return MODES.get(mode, {}).get(lang, mode)


def tier_name(tier: str, lang: Lang) -> str:
    """A facility tier in ``lang``; a tier of the user's own ``tier_map`` as given."""
    return TIER_NAMES.get(tier, {}).get(lang, tier)


def level_name(level: str, lang: Lang) -> str:
    """A zone level in ``lang``; a level named in the config and unknown here as given, ``_`` as spaces, in
    Chinese as ``区域（grid_500m）`` (give the zones a ``label_zh`` for a better name)."""
    if level in LEVEL_NAMES:
        return LEVEL_NAMES[level][lang]
    return f"区域（{level}）" if lang == "zh" else level.replace("_", " ")

"""The map and the report in headless Chromium: clicking a zone draws no focus rectangle; no table cell of the
report is cut (its text overflows none)."""

from __future__ import annotations

from geocover.render.report import write_report
from tests.test_map_browser import _MAP, _open, browser, hostile  # noqa: F401 - fixtures

_ZONE_PATH = "() => { const map = " + _MAP + ";" + """
  const entry = map.gcEntries.find(e => e.name.startsWith("% of people within"));
  map.addLayer(entry.layer);
  const paths = [];
  entry.layer.eachLayer(l => {
    if (l._path) paths.push(l._path); else if (l.eachLayer) l.eachLayer(k => paths.push(k._path)); });
  for (const path of paths) {
    const box = path.getBoundingClientRect();
    const x = box.left + box.width / 2, y = box.top + box.height / 2;
    if (document.elementFromPoint(x, y) === path) { path.id = "gc-clicked"; return [x, y]; }
  }
  return null;
}"""
_FOCUS = """() => {
  const el = document.activeElement, style = getComputedStyle(el);
  return {id: el.id, tag: el.tagName, outline: style.outlineStyle, width: style.outlineWidth};
}"""
_DROP_FIX = """() => { for (const sheet of document.styleSheets) {
  for (let i = sheet.cssRules.length - 1; i >= 0; i--) {
    if (sheet.cssRules[i].cssText.includes("leaflet-interactive:focus")) sheet.deleteRule(i); } } }"""


def _outlined(focus: dict) -> bool:
    return focus["outline"] not in ("none", "") and focus["width"] != "0px"


def test_clicking_a_zone_draws_no_focus_rectangle(browser, hostile):  # noqa: F811
    page = _open(browser, hostile[1]["en"])
    point = page.evaluate(_ZONE_PATH)
    assert point is not None
    page.mouse.click(*point)
    page.wait_for_timeout(200)
    focus = page.evaluate(_FOCUS)
    assert focus["id"] == "gc-clicked" and focus["tag"] == "path"  # the click did focus the zone's path
    assert not _outlined(focus), focus
    # Without geocover's rule Chromium draws its focus ring there: the check above can fail.
    page.evaluate(_DROP_FIX)
    page.evaluate("() => document.activeElement.blur()")
    page.mouse.click(*point)
    page.wait_for_timeout(200)
    assert _outlined(page.evaluate(_FOCUS))
    page.context.close()


def test_no_report_cell_is_cut(browser, hostile, tmp_path):  # noqa: F811
    for lang in ("en", "zh"):
        path = write_report(hostile[0], tmp_path / lang, lang, map_file=None)["report.html"]
        page = _open(browser, path)
        cut = page.evaluate("""() => [...document.querySelectorAll("th, td")]
            .filter(c => c.scrollWidth > c.clientWidth + 1 || getComputedStyle(c).textOverflow === "ellipsis")
            .map(c => c.textContent)""")
        cells = page.evaluate("() => document.querySelectorAll('th, td').length")
        page.context.close()
        assert cells > 50 and cut == [], (lang, cut)

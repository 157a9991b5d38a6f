"""Make a Folium map one self-contained, reproducible HTML file.

Leaflet's JavaScript, CSS and control images are inlined from the files that the
``django-js-lib-leaflet`` package installs (Leaflet 1.9.4, BSD-2-Clause), so the
map opens and draws every layer with no network; only base-map tiles need one.
Folium's other default links (jQuery, Bootstrap, Awesome Markers, Font Awesome)
are left out: geocover's layers do not use them. The full-screen and measuring
controls are geocover's own few lines below, not Folium's plugins (which load their
code from CDNs). Element ids are numbered in order instead of random, so the same
run writes the same HTML.
"""

from __future__ import annotations

import base64
import html
import importlib.resources
import re

import branca.element
import folium
from jinja2 import Template

from geocover.render.i18n import CSS_FONTS

_LEAFLET_PACKAGE = "js_lib_leaflet"
_LEAFLET_DIR = "static/js_lib_leaflet"

# Elements that hold further elements outside ``_children`` (a Figure's and a Popup's parts).
_PARTS = ("header", "html", "script")

_ICON_FULLSCREEN = (
    '<svg width="16" height="16" viewBox="0 0 16 16" fill="none" stroke="#333" stroke-width="2" aria-hidden="true">'
    '<path d="M1 6V1h5M10 1h5v5M15 10v5h-5M6 15H1v-5"/></svg>'
)
_ICON_RULER = (
    '<svg width="18" height="18" viewBox="0 0 18 18" fill="none" stroke="#333" stroke-width="1.5" aria-hidden="true">'
    '<path d="M1 12L12 1l5 5L6 17z"/><path d="M4 9l2 2M7 6l2 2M10 3l2 2"/></svg>'
)

# geocover's own controls: a full-screen button (the browser's Fullscreen API on the map's
# container, so the legend and layer control come along) and a distance ruler (great-circle
# metres from Leaflet's map.distance between the clicked points).
_CONTROLS_JS = """
L.Control.GeocoverLayers = L.Control.Layers.extend({
  _update: function () {
    this._group = null;
    var out = L.Control.Layers.prototype._update.call(this);
    this._layersLink.title = this.options.title || "";
    return out;
  },
  _addItem: function (obj) {
    if (obj.overlay && obj.layer.gcGroup && obj.layer.gcGroup !== this._group) {
      this._group = obj.layer.gcGroup;
      L.DomUtil.create("div", "gc-group", this._overlaysList).textContent = this._group;
    }
    return L.Control.Layers.prototype._addItem.call(this, obj);
  }
});
L.Control.GeocoverFullscreen = L.Control.extend({
  options: {position: "topleft", title: "Full screen", icon: ""},
  onAdd: function (map) {
    var box = L.DomUtil.create("div", "leaflet-bar gc-fullscreen");
    var button = L.DomUtil.create("a", "", box);
    button.href = "#"; button.title = this.options.title; button.setAttribute("role", "button");
    button.innerHTML = this.options.icon;
    L.DomEvent.disableClickPropagation(box);
    L.DomEvent.on(button, "click", function (event) {
      L.DomEvent.preventDefault(event);
      if (document.fullscreenElement) { document.exitFullscreen(); }
      else { map.getContainer().requestFullscreen(); }
    });
    L.DomEvent.on(document, "fullscreenchange", function () { map.invalidateSize(); });
    return box;
  }
});
L.Control.GeocoverMeasure = L.Control.extend({
  options: {position: "topleft", title: "Measure", hint: "", icon: ""},
  onAdd: function (map) {
    var options = this.options, points = [], line = null;
    var box = L.DomUtil.create("div", "leaflet-bar gc-measure");
    var button = L.DomUtil.create("a", "", box);
    button.href = "#"; button.title = options.title; button.setAttribute("role", "button");
    button.innerHTML = options.icon;
    var output = L.DomUtil.create("div", "gc-measure-output", box);
    output.style.display = "none";
    function show() {
      var metres = 0;
      for (var i = 1; i < points.length; i++) { metres += map.distance(points[i - 1], points[i]); }
      output.textContent = points.length < 2 ? options.hint
        : metres >= 1000 ? (metres / 1000).toFixed(2) + " km" : Math.round(metres) + " m";
    }
    function add(event) { points.push(event.latlng); line.setLatLngs(points); show(); }
    L.DomEvent.disableClickPropagation(box);
    L.DomEvent.on(button, "click", function (event) {
      L.DomEvent.preventDefault(event);
      if (line === null) {
        points = [];
        line = L.polyline([], {color: "#000", weight: 2, dashArray: "4 4", interactive: false}).addTo(map);
        output.style.display = "block"; show();
        L.DomUtil.addClass(map.getContainer(), "gc-measuring");
        map.on("click", add);
      } else {
        map.off("click", add); map.removeLayer(line); line = null;
        output.style.display = "none";
        L.DomUtil.removeClass(map.getContainer(), "gc-measuring");
      }
    });
    return box;
  }
});
"""

_CONTROLS_CSS = f"""
.leaflet-container {{ font-family: {CSS_FONTS}; }}
.gc-fullscreen a, .gc-measure a {{ display: flex; align-items: center; justify-content: center; }}
.gc-measure-output {{ background: #fff; padding: 2px 6px; font-size: 12px; white-space: nowrap; }}
.gc-measuring {{ cursor: crosshair; }}
.gc-legend {{ background: #fff; padding: 6px 8px; font-size: 12px; line-height: 1.35; border-radius: 4px;
  box-shadow: 0 0 4px rgba(0,0,0,.4); max-width: 260px; max-height: 60vh; overflow-y: auto; }}
.leaflet-top.leaflet-right {{ z-index: 1001; }} /* the opened layer list over the legend, not under it */
.gc-legend .gc-row {{ display: flex; align-items: center; gap: 6px; }}
.gc-legend .gc-swatch {{ display: inline-block; width: 14px; height: 12px; border: 1px solid #555; flex: none; }}
.gc-legend h4 {{ margin: 6px 0 2px; font-size: 12px; }} .gc-legend .gc-note {{ color: #555; font-size: 11px; }}
.gc-facility {{ background: none; border: none; }}
.gc-legend summary {{ cursor: pointer; font-weight: bold; }}
.gc-legend .gc-title {{ font-weight: bold; margin: 2px 0; }}
.gc-group {{ font-weight: bold; margin: 6px 0 2px; border-top: 1px solid #ddd; padding-top: 4px; }}
.gc-group:first-child {{ border-top: none; margin-top: 0; padding-top: 0; }}
.gc-site {{ background: #fff; border: 2px solid #000; border-radius: 50%; font: bold 11px/16px sans-serif;
  text-align: center; color: #000; }}
.gc-site-swatch {{ display: inline-block; width: 16px; height: 16px; flex: none; box-sizing: border-box; }}
.leaflet-container path.leaflet-interactive:focus, .leaflet-marker-icon:focus {{ outline: none; }}
"""


_PAGE = Template(
    "<!DOCTYPE html>\n"
    '<html lang="{{ this.lang }}">\n'
    "<head>\n"
    "{% if this.title %}<title>{{ this.title }}</title>{% endif %}"
    "    {{ this.header.render(**kwargs) }}\n"
    "</head>\n"
    "<body>\n"
    "    {{ this.html.render(**kwargs) }}\n"
    "</body>\n"
    "<script>\n"
    "    {{ this.script.render(**kwargs) }}\n"
    "</script>\n"
    "</html>\n"
)
"""Branca's page with the language set, so browsers pick Simplified Chinese glyphs for ``zh-CN``."""


class HtmlControl(branca.element.MacroElement):
    """A Leaflet control holding fixed HTML (the legend): inside the map, so it shows in full screen.

    Parameters
    ----------
    html : str
        Already escaped HTML.
    position : str
        ``topleft``, ``topright``, ``bottomleft`` or ``bottomright``.
    class_name : str
    """

    _template = Template("""
        {% macro script(this, kwargs) %}
        (function () {
          var control = L.control({position: {{ this.position|tojson }}});
          control.onAdd = function () {
            var box = L.DomUtil.create("div", {{ this.class_name|tojson }});
            box.innerHTML = {{ this.html|tojson }};
            L.DomEvent.disableScrollPropagation(box);
            return box;
          };
          control.addTo({{ this._parent.get_name() }});
        })();
        {% endmacro %}
    """)

    def __init__(self, html: str, position: str = "bottomright", class_name: str = "gc-legend") -> None:
        super().__init__()
        self._name = "HtmlControl"
        self.html, self.position, self.class_name = html, position, class_name


class Attribution(branca.element.MacroElement):
    """Add a data source to the map's attribution line (shown with or without a base map).

    Parameters
    ----------
    text : str
        Already escaped HTML.
    """

    _template = Template("""
        {% macro script(this, kwargs) %}
        {{ this._parent.get_name() }}.attributionControl.addAttribution({{ this.text|tojson }});
        {% endmacro %}
    """)

    def __init__(self, text: str) -> None:
        super().__init__()
        self._name = "Attribution"
        self.text = text


class Tools(branca.element.MacroElement):
    """geocover's full-screen button and distance ruler, with their titles in the map's language.

    Parameters
    ----------
    fullscreen_title, measure_title, measure_hint : str
        Plain text (set as the buttons' ``title`` and as text, never parsed as HTML).
    """

    _template = Template("""
        {% macro script(this, kwargs) %}
        new L.Control.GeocoverFullscreen({title: {{ this.fullscreen_title|tojson }},
            icon: {{ this.fullscreen_icon|tojson }}}).addTo({{ this._parent.get_name() }});
        new L.Control.GeocoverMeasure({title: {{ this.measure_title|tojson }}, hint: {{ this.measure_hint|tojson }},
            icon: {{ this.ruler_icon|tojson }}}).addTo({{ this._parent.get_name() }});
        {% endmacro %}
    """)

    def __init__(self, fullscreen_title: str, measure_title: str, measure_hint: str) -> None:
        super().__init__()
        self._name = "Tools"
        self.fullscreen_title, self.measure_title, self.measure_hint = fullscreen_title, measure_title, measure_hint
        self.fullscreen_icon, self.ruler_icon = _ICON_FULLSCREEN, _ICON_RULER


def _leaflet_file(name: str) -> importlib.resources.abc.Traversable:
    return importlib.resources.files(_LEAFLET_PACKAGE).joinpath(f"{_LEAFLET_DIR}/{name}")


def _leaflet_css() -> str:
    """leaflet.css with its images turned into data URIs."""
    css = _leaflet_file("leaflet.css").read_text(encoding="utf-8")

    def inline(match: re.Match) -> str:
        image = _leaflet_file(match.group(1)).read_bytes()
        return f"url(data:image/png;base64,{base64.b64encode(image).decode('ascii')})"

    return re.sub(r"url\((images/[\w.-]+\.png)\)", inline, css)


def self_contained(fmap: folium.Map, background: str | None = None, lang: str = "en",
                   title: str | None = None) -> folium.Map:
    """Inline Leaflet and geocover's controls into ``fmap`` and drop Folium's CDN links, in place.

    Parameters
    ----------
    fmap : folium.Map
    background : str, optional
        CSS colour of the map where no base map is drawn (``tiles: none``).
    lang : str
        The page's language, ``en`` or ``zh`` (written ``zh-CN``).
    title : str, optional
        The page's title, plain text.

    Returns
    -------
    folium.Map
        The same map.
    """
    fmap.default_js = []
    fmap.default_css = []
    root = fmap.get_root()
    root._template = _PAGE
    root.lang = "zh-CN" if lang == "zh" else "en"
    root.title = html.escape(title) if title else None
    css = _leaflet_css() + _CONTROLS_CSS
    if background is not None:
        css += f".leaflet-container {{ background: {background}; }}\n"
    root.header.add_child(branca.element.Element(f"<style>{css}</style>"), name="leaflet_css")
    script = _leaflet_file("leaflet.js").read_text(encoding="utf-8")
    root.header.add_child(branca.element.Element(f"<script>{script}</script>"), name="leaflet_js")
    root.header.add_child(branca.element.Element(f"<script>{_CONTROLS_JS}</script>"), name="geocover_controls")
    return fmap


def stable_ids(element: branca.element.Element) -> None:
    """Number the ids of ``element``'s whole tree in order, replacing Folium's random ones.

    Children are also filed under their new names, as templates use those keys as JS names.
    """
    counter = 0

    def visit(node: branca.element.Element) -> None:
        nonlocal counter
        node._id = f"{counter:08x}"
        counter += 1
        for part in _PARTS:
            inner = getattr(node, part, None)
            if isinstance(inner, branca.element.Element) and inner is not node:
                visit(inner)
        renamed = type(node._children)()
        for key, child in node._children.items():
            was_named = key == child.get_name()
            visit(child)
            renamed[child.get_name() if was_named else key] = child
        node._children = renamed

    visit(element)


def render(fmap: folium.Map) -> str:
    """The whole HTML page of ``fmap``, self-contained and reproducible.

    Parameters
    ----------
    fmap : folium.Map
        Made self-contained here unless :func:`self_contained` was already called.

    Returns
    -------
    str
    """
    root = fmap.get_root()
    if "leaflet_js" not in root.header._children:
        self_contained(fmap)
    stable_ids(root)
    return root.render()

"""The interactive map's grouped layer control and its legend, which shows only the keys of the layers on.

Each overlay is registered with a group (base data, travel time, standards, ambulance, siting) and
the legend keys it draws. The layer control is collapsed and lists the overlays under their
group's heading; the legend is a collapsible box whose sections show only while one of their
layers is on, updated whenever a layer is toggled. The first view fits the data inside the part
of the window the controls leave free.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field

import branca.element
import folium
from jinja2 import Template

GROUPS = ("group_travel", "group_base", "group_standards", "group_ambulance", "group_siting")
"""Label keys of the layer groups, in the layer control's order."""


@dataclass
class Entry:
    """One overlay in the layer control: its layer, group (a key of :data:`GROUPS`) and legend keys."""

    layer: folium.map.Layer
    name: str
    group: str
    keys: list[str]


@dataclass
class Legend:
    """Legend sections (escaped HTML, each with the keys that show it) and the overlays of a map."""

    title: str
    sections: list[tuple[str, list[str]]] = field(default_factory=list)
    entries: list[Entry] = field(default_factory=list)

    def section(self, body: str, keys: list[str]) -> None:
        """Add ``body`` (escaped HTML), shown while a layer with one of ``keys`` is on."""
        self.sections.append((body, keys))

    def add(self, layer: folium.map.Layer, name: str, group: str, keys: list[str]) -> folium.map.Layer:
        """Register ``layer`` (already added to the map) under ``group``; returns it."""
        self.entries.append(Entry(layer, name, group, keys))
        return layer

    def html(self, heading: str) -> str:
        """The legend box: a ``<details>`` (open) titled ``heading``, then the map title and the sections."""
        body = "".join(f'<div data-gc-keys="{html.escape(" ".join(keys))}">{text}</div>'
                       for text, keys in self.sections)
        return (f"<details open><summary>{html.escape(heading)}</summary>"
                f'<div class="gc-title">{html.escape(self.title)}</div>{body}</details>')


def swatch_row(style: str, text: str) -> str:
    """A legend row: a swatch with CSS ``style`` and plain ``text`` (escaped here)."""
    return f'<div class="gc-row"><span class="gc-swatch" style="{style}"></span>{html.escape(text)}</div>'


def heading(text: str) -> str:
    """A legend heading of plain ``text``."""
    return f"<h4>{html.escape(text)}</h4>"


class LayersAndLegend(branca.element.MacroElement):
    """The grouped, collapsed layer control, the legend, a metric scale bar and the padded first view.

    Parameters
    ----------
    legend : Legend
    groups : dict
        Group key to its heading (plain text).
    layers_title, legend_title : str
        Plain text.
    bounds : list
        ``[[south, west], [north, east]]`` of the data, degrees.
    """

    _template = Template("""
        {% macro script(this, kwargs) %}
        (function () {
          var map = {{ this._parent.get_name() }};
          var entries = [
            {%- for entry in this.legend.entries %}
            {layer: {{ entry.layer.get_name() }}, name: {{ entry.name|tojson }},
             group: {{ this.groups[entry.group]|tojson }}, keys: {{ entry.keys|tojson }}},
            {%- endfor %}
          ];
          var overlays = {};
          entries.forEach(function (e) { e.layer.gcGroup = e.group; overlays[e.name] = e.layer; });
          map.gcEntries = entries;
          new L.Control.GeocoverLayers({}, overlays, {collapsed: true, title: {{ this.layers_title|tojson }}})
            .addTo(map);
          L.control.scale({imperial: false}).addTo(map);
          var control = L.control({position: "bottomright"});
          control.onAdd = function () {
            var box = L.DomUtil.create("div", "gc-legend");
            box.innerHTML = {{ this.html|tojson }};
            L.DomEvent.disableClickPropagation(box);
            L.DomEvent.disableScrollPropagation(box);
            return box;
          };
          control.addTo(map);
          var box = control.getContainer();
          function update() {
            var on = {};
            entries.forEach(function (e) {
              if (map.hasLayer(e.layer)) { e.keys.forEach(function (k) { on[k] = true; }); }
            });
            box.querySelectorAll("[data-gc-keys]").forEach(function (el) {
              var keys = el.getAttribute("data-gc-keys").split(" ");
              el.style.display = keys.some(function (k) { return on[k]; }) ? "" : "none";
            });
          }
          map.on("overlayadd overlayremove layeradd layerremove", update);
          update();
          map.fitBounds({{ this.bounds|tojson }}, {paddingTopLeft: [56, 16],
                                                 paddingBottomRight: [box.offsetWidth + 24, 36]});
        })();
        {% endmacro %}
    """)

    def __init__(self, legend: Legend, groups: dict[str, str], layers_title: str, legend_title: str,
                 bounds: list[list[float]]) -> None:
        super().__init__()
        self._name = "LayersAndLegend"
        self.legend, self.groups, self.layers_title, self.bounds = legend, groups, layers_title, bounds
        self.legend.entries.sort(key=lambda e: GROUPS.index(e.group))
        self.html = legend.html(legend_title)

"""Make a Folium map one self-contained, reproducible HTML file.

Leaflet's JavaScript, CSS and control images are inlined from the files that the
``django-js-lib-leaflet`` package installs (Leaflet 1.9.4, BSD-2-Clause), so the
map opens and draws every layer with no network; only base-map tiles need one.
Folium's other default links (jQuery, Bootstrap, Awesome Markers, Font Awesome)
are left out: geocover's layers do not use them. Element ids are numbered in
order instead of random, so the same run writes the same HTML.
"""

from __future__ import annotations

import base64
import importlib.resources
import re

import branca.element
import folium

_LEAFLET_PACKAGE = "js_lib_leaflet"
_LEAFLET_DIR = "static/js_lib_leaflet"

# Folium's Popup template wraps its HTML with jQuery's ``$(html)[0]``; this is the one
# use of ``$`` in geocover's maps, so a four-line stand-in replaces the whole of jQuery.
_DOLLAR = """
if (typeof window.$ === "undefined") {
  window.$ = function (html) {
    var t = document.createElement("template"); t.innerHTML = String(html).trim(); return [t.content.firstChild];
  };
}
"""


# Elements that hold further elements outside ``_children`` (a Figure's and a Popup's parts).
_PARTS = ("header", "html", "script")


def _leaflet_file(name: str) -> importlib.resources.abc.Traversable:
    return importlib.resources.files(_LEAFLET_PACKAGE).joinpath(f"{_LEAFLET_DIR}/{name}")


def _leaflet_css() -> str:
    """leaflet.css with its images turned into data URIs."""
    css = _leaflet_file("leaflet.css").read_text(encoding="utf-8")

    def inline(match: re.Match) -> str:
        image = _leaflet_file(match.group(1)).read_bytes()
        return f"url(data:image/png;base64,{base64.b64encode(image).decode('ascii')})"

    return re.sub(r"url\((images/[\w.-]+\.png)\)", inline, css)


def self_contained(fmap: folium.Map) -> folium.Map:
    """Inline Leaflet into ``fmap`` and drop Folium's CDN links, in place.

    Parameters
    ----------
    fmap : folium.Map

    Returns
    -------
    folium.Map
        The same map.
    """
    fmap.default_js = []
    fmap.default_css = []
    header = fmap.get_root().header
    header.add_child(branca.element.Element(f"<style>{_leaflet_css()}</style>"), name="leaflet_css")
    script = _leaflet_file("leaflet.js").read_text(encoding="utf-8")
    header.add_child(branca.element.Element(f"<script>{script}</script>"), name="leaflet_js")
    header.add_child(branca.element.Element(f"<script>{_DOLLAR}</script>"), name="dollar")
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
    """The whole HTML page of ``fmap``, self-contained and reproducible."""
    self_contained(fmap)
    root = fmap.get_root()
    stable_ids(root)
    return root.render()

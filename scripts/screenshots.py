"""Screenshots of what a planner sees first: the map's default view (English and Chinese), page 1 of
the report (English and Chinese), the print map and the PDF report's cover, at 1280×720 in headless
Chromium with the network blocked.

Usage::

    PYTHONPATH=$PWD python scripts/screenshots.py configs/comoros.yaml --out screenshots

Writes ``map_en.png``, ``map_zh.png``, ``report_page1.png``, ``report_page1_zh.png``, ``print_map.png`` (a
copy of the run's ``map.png``) and ``report_pdf_cover.png`` (page 1 of ``report.pdf`` at 100 dpi, rendered
with pypdfium2) into ``--out``, beside the run's outputs in ``--out/run`` and the Chinese report in
``--out/zh``.
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

import pypdfium2
from playwright.sync_api import sync_playwright

from geocover.cli import main as geocover
from geocover.pipeline import run_scenario
from geocover.render.assets import render
from geocover.render.folium_map import coverage_map
from geocover.render.report import write_report
from geocover.standards.scenario_audit import scenario_audit

VIEWPORT = {"width": 1280, "height": 720}
CHROMIUM = "/usr/bin/chromium"
COVER_DPI = 100


def shoot(pages: dict[str, Path], out: Path) -> None:
    """Open each HTML file of ``pages`` (name to path) and save ``out/<name>.png``."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        for name, path in pages.items():
            context = browser.new_context(viewport=VIEWPORT)
            context.route("**/*", lambda route: route.abort() if route.request.url.startswith("http")
                          else route.continue_())
            page = context.new_page()
            page.goto(path.resolve().as_uri(), wait_until="load")
            page.wait_for_timeout(1000)
            page.screenshot(path=out / f"{name}.png")
            context.close()
        browser.close()


def pdf_page_png(pdf: Path, png: Path, page: int = 0, dpi: int = COVER_DPI) -> None:
    """Render page ``page`` of ``pdf`` to ``png`` at ``dpi``."""
    document = pypdfium2.PdfDocument(pdf)
    document[page].render(scale=dpi / 72).to_pil().save(png)
    document.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("config", type=Path)
    parser.add_argument("--out", type=Path, default=Path("screenshots"))
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    run = args.out / "run"
    if geocover(["run", str(args.config), "--out", str(run), "--quiet", "--offline"]) != 0:
        raise SystemExit(2)
    result = run_scenario(args.config, progress=False)
    result.audit = scenario_audit(result)
    (args.out / "map_zh.html").write_text(render(coverage_map(result, lang="zh", tiles="none")), encoding="utf-8")
    chinese = write_report(result, args.out / "zh", "zh", map_file=None)
    shoot({"map_en": run / "map.html", "map_zh": args.out / "map_zh.html", "report_page1": run / "report.html",
           "report_page1_zh": chinese["report.html"]}, args.out)
    shutil.copyfile(run / "map.png", args.out / "print_map.png")
    pdf_page_png(run / "report.pdf", args.out / "report_pdf_cover.png")
    print(f"screenshots in {args.out}")


if __name__ == "__main__":
    main()

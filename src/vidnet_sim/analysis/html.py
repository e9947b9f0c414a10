"""The report as one self-contained HTML file that opens offline.

:func:`render_html` turns :class:`~vidnet_sim.analysis.report_data.ReportData` into a page
whose images are embedded PNG (``data:`` URIs), with inline CSS, no script and no font or
file fetched from anywhere: a Content-Security-Policy (``default-src 'none'``) forbids any
request. The first page (printed on its own sheet) is the plain-language summary — the
recommendation, the risk and what would change the answer; then the network drawn, the
cost per year, the what-ifs, the plots and the tables. :func:`write_report` stores
``report.json`` and ``report.html``; :func:`rerender` draws a folder's report again from its
``report.json`` without simulating.
"""

from __future__ import annotations

import base64
import html
import re
from pathlib import Path

from vidnet_sim.analysis.drawing import draw_network
from vidnet_sim.analysis.plots import draw_costs, draw_panels, draw_variants
from vidnet_sim.analysis.report_data import ReportData, TableView, load_report_data
from vidnet_sim.results.files import write_file

__all__ = ["CSP", "REPORT_HTML", "render_html", "rerender", "write_report"]

#: File name of the HTML report.
REPORT_HTML = "report.html"
#: The page's Content-Security-Policy: nothing may be fetched; images only from data: URIs.
CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"

_CSS = """
body { font-family: "DejaVu Sans", Arial, Helvetica, sans-serif; margin: 0 auto;
  max-width: 1180px; padding: 24px 32px; color: #1d1d1f; line-height: 1.45; }
h1 { font-size: 30px; margin: 0 0 4px; }
h2 { font-size: 21px; border-bottom: 2px solid #dde3ea; padding-bottom: 4px; margin-top: 36px; }
.first { margin-bottom: 28px; }
.headline { font-size: 24px; font-weight: bold; background: #eef5ee; border-left: 8px solid
  #2f8a3c; padding: 12px 16px; margin: 18px 0; }
.partial { font-size: 18px; font-weight: bold; color: #fff; background: #b3261e;
  padding: 10px 16px; }
.box { display: grid; grid-template-columns: 1fr 1fr 1fr; gap: 18px; }
.box section { background: #f6f8fa; border: 1px solid #dde3ea; border-radius: 6px;
  padding: 8px 16px; }
.box h2 { margin-top: 6px; font-size: 19px; border: none; }
.box p { margin: 6px 0; }
.description { color: #555; }
figure { margin: 12px 0; }
figure img { max-width: 100%; height: auto; border: 1px solid #e4e4e4; }
figcaption { color: #555; font-size: 14px; }
table { border-collapse: collapse; margin: 10px 0; font-size: 13.5px; }
th, td { border: 1px solid #cfd6de; padding: 3px 8px; text-align: left; }
th { background: #eef1f4; }
.note { color: #555; font-size: 14px; }
@media print { .first { page-break-after: always; }
  h2 { page-break-after: avoid; } figure { page-break-inside: avoid; } }
"""


def _inline(text: str) -> str:
    """Escape ``text`` and turn ``**bold**`` and ```code``` marks into HTML."""
    out = html.escape(text, quote=False)
    out = re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", out)
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", out)


def _img(png: bytes, alt: str, caption: str = "", ident: str = "") -> str:
    data = base64.b64encode(png).decode("ascii")
    idattr = f' id="{html.escape(ident)}"' if ident else ""
    cap = f"<figcaption>{_inline(caption)}</figcaption>" if caption else ""
    return (
        f'<figure{idattr}><img alt="{html.escape(alt)}" '
        f'src="data:image/png;base64,{data}">{cap}</figure>'
    )


def _table(t: TableView) -> str:
    head = "".join(f"<th>{_inline(h)}</th>" for h in t.header)
    rows = "".join("<tr>" + "".join(f"<td>{_inline(c)}</td>" for c in r) + "</tr>" for r in t.rows)
    note = f'<p class="note">{_inline(t.note)}</p>' if t.note else ""
    title = f"<h3>{_inline(t.title)}</h3>" if t.title else ""
    return f"{title}<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>{note}"


def _paragraphs(lines: list[str]) -> str:
    return "".join(f"<p>{_inline(s)}</p>" for s in lines) or "<p>—</p>"


def render_html(data: ReportData) -> str:
    """The self-contained HTML page of ``data`` (see the module doc)."""
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{html.escape(data.title)}</title>",
        f"<style>{_CSS}</style></head><body>",
        '<div class="first" id="first-page">',
        f"<h1>{_inline(data.title)}</h1>",
    ]
    if data.description:
        parts.append(f'<p class="description">{_inline(data.description)}</p>')
    if data.partial:
        parts.append(f'<p class="partial">PARTIAL — {_inline(data.partial)}</p>')
    parts += [
        f'<p class="headline" id="headline">{_inline(data.headline)}</p>',
        '<div class="box">',
        '<section id="recommendation"><h2>Recommendation</h2>'
        + _paragraphs(data.recommendation)
        + "</section>",
        '<section id="risk"><h2>Risk</h2>' + _paragraphs(data.risk) + "</section>",
        '<section id="changes"><h2>What would change the answer</h2>'
        + _paragraphs(data.changes)
        + "</section>",
        "</div></div>",
    ]
    if data.network is not None:
        parts += [
            "<h2>The network</h2>",
            _img(
                draw_network(data.network),
                f"network drawing: {data.network.title}",
                data.network.caption,
                "network",
            ),
        ]
    if data.costs is not None:
        parts += [
            "<h2>Cost</h2>",
            _img(draw_costs(data.costs), data.costs.title, data.costs.caption, "costs"),
        ]
    if data.variants:
        cur = data.variants_currency
        rows = [
            [
                v.name,
                f"{v.cost:,.0f} {cur}",
                v.verdict_text,
                v.note,
            ]
            for v in data.variants
        ]
        parts += [
            "<h2>What-ifs side by side</h2>",
            _table(TableView("", ["variant", "cost", "SLA verdict", "its report's answer"], rows)),
            _img(
                draw_variants(data.variants, cur), "what-ifs: cost and SLA verdict", "", "whatifs"
            ),
        ]
    if data.plots is not None and data.plots.panels:
        parts += [
            "<h2>Service levels</h2>",
            _img(draw_panels(data.plots), data.plots.title, data.plots.caption, "plots"),
        ]
    if data.tables:
        parts.append("<h2>Details</h2>")
        parts += [_table(t) for t in data.tables]
    if data.method:
        parts += ["<h2>Method and assumptions</h2>", _paragraphs(data.method)]
    if data.files:
        parts += [
            "<h2>Files</h2>",
            "<p>" + ", ".join(f"<code>{html.escape(f)}</code>" for f in data.files) + "</p>",
        ]
    parts.append("</body></html>")
    return "\n".join(parts)


def write_report(data: ReportData, out_dir: str | Path) -> list[Path]:
    """Write ``report.json`` and ``report.html`` into ``out_dir``; returns both paths."""
    out = Path(out_dir)
    page = out / REPORT_HTML
    write_file(page, render_html(data))
    return [data.save(out), page]


def rerender(results_dir: str | Path) -> Path:
    """Draw ``<results_dir>/report.html`` again from its ``report.json`` (no simulation).

    Raises :class:`~vidnet_sim.results.ResultsNotFoundError` when the folder has no usable
    ``report.json``."""
    out = Path(results_dir) / REPORT_HTML
    write_file(out, render_html(load_report_data(results_dir)))
    return out

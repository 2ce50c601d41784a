"""The report's page: one HTML file with its style inside, its parts (sections, tables, figures) and its print layout.

The file asks nothing of any server: no script, no font, no stylesheet, no image outside
it (images are data URLs, charts inline SVG). Printed, it is A4: each section starts a new
page, figures and table rows are never cut in two, and nothing is wider than the page.
"""

from imgrec.report import markup

# System fonts only (nothing is downloaded); the CJK families are for the Chinese catalogue.
STYLE = """
@page { size: A4; margin: 14mm 15mm 16mm 15mm; }
* { box-sizing: border-box; }
html { color-scheme: light; }
body { margin: 0 auto; padding: 10mm 6mm 14mm; max-width: 190mm; background: #fff; color: #111;
  font: 10.5pt/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", "DejaVu Sans",
  "Noto Sans CJK SC", "Microsoft YaHei", "PingFang SC", sans-serif; overflow-wrap: anywhere; }
header { border-bottom: 2px solid #111; margin-bottom: 6mm; }
h1 { font-size: 18pt; margin: 0 0 1mm; line-height: 1.2; }
h2 { font-size: 14pt; margin: 0 0 3mm; border-bottom: 1px solid #888; padding-bottom: 1mm; }
h3 { font-size: 11pt; margin: 4mm 0 1.5mm; }
p { margin: 0 0 2.5mm; }
.subtitle { font-size: 11pt; margin: 0 0 2mm; }
.note, figcaption, .footer { color: #333; font-size: 9pt; }
section { margin: 0 0 10mm; }
figure { margin: 0 0 4mm; break-inside: avoid; }
figure img, figure svg { display: block; max-width: 100%; height: auto; }
img { max-width: 100%; height: auto; border: 1px solid #999; }
svg.chart { max-width: 100%; height: auto; }
.row { display: flex; flex-wrap: wrap; gap: 5mm; align-items: flex-start; }
.row > figure { flex: 1 1 0; min-width: 0; }
.grid { display: grid; grid-template-columns: repeat(var(--columns, 4), minmax(0, 1fr)); gap: 3mm 4mm; }
table { border-collapse: collapse; width: 100%; margin: 0 0 4mm; font-size: 9.5pt; }
th, td { text-align: left; vertical-align: top; padding: 1mm 2mm; border-bottom: 0.3mm solid #999; }
th { border-bottom: 0.5mm solid #111; }
tr { break-inside: avoid; }
td.number, th.number { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
table.facts th { width: 32%; border-bottom: 0.3mm solid #999; font-weight: 600; }
.headline { display: grid; grid-template-columns: repeat(4, minmax(0, 1fr)); gap: 3mm; margin: 0 0 4mm; }
.headline div { border: 0.3mm solid #777; padding: 2mm 3mm; }
.headline b { display: block; font-size: 14pt; }
.explanation, .keep { break-inside: avoid; }
h2, h3 { break-after: avoid; }
.explanation h3 { margin-top: 0; }
.verdict { border-left: 1.5mm solid #111; padding: 1mm 3mm; margin: 0 0 3mm; }
code { font-family: ui-monospace, "DejaVu Sans Mono", monospace; font-size: 9pt; }
.footer { border-top: 1px solid #888; padding-top: 2mm; }
@media print {
  /* A border on the right edge of the column is clipped by Chromium's print at 0 padding. */
  body { padding: 0 0.4mm; max-width: none; }
  section { margin: 0; }
  section + section { break-before: page; }
  .footer { margin-top: 6mm; }
}
"""


def page(title, subtitle, sections, *, facts_line, language="en"):
    """Returns the whole report as one HTML document (a `str`).

    Args:
        title: the report's heading and the browser tab's title.
        subtitle: one line under the heading (what the report is about).
        sections: the `section(...)`s, in order; each starts a new page when printed.
        facts_line: the last line: when and by what the report was made.
        language: the language of its words (`<html lang>`), e.g. "zh-CN". Defaults to `"en"`.
    """
    head = markup.element(
        "head",
        markup.element("meta", charset="utf-8"),
        markup.element("meta", name="viewport", content="width=device-width, initial-scale=1"),
        markup.element("title", title),
        markup.element("style", markup.Html(STYLE)),
    )
    header = markup.element("header", markup.element("h1", title), markup.element("p", subtitle, class_="subtitle"))
    footer = markup.element("p", facts_line, class_="footer")
    body = markup.element("body", header, *sections, footer)
    return "<!DOCTYPE html>\n" + markup.element("html", head, body, lang=language) + "\n"


def section(heading, *body, name=None):
    """Returns one section (a printed page or more) with its heading; `name` becomes its id."""
    return markup.element("section", markup.element("h2", heading), *body, id=name)


def subheading(content):
    return markup.element("h3", content)


def paragraph(content, note=False):
    """A paragraph of text (escaped); `note` sets it in the smaller, quieter type of captions."""
    return markup.element("p", content, class_="note" if note else None)


def facts(rows):
    """A two-column table of (label, value) rows; rows whose value is `None` or empty are left out."""
    cells = [markup.element("tr", markup.element("th", label, scope="row"), markup.element("td", value))
             for label, value in rows if value not in (None, "")]
    return markup.element("table", markup.element("tbody", *cells), class_="facts")


def table(header, rows, *, numeric=()):
    """A table with a header row; the columns at the positions in `numeric` are right-aligned figures."""
    def cell(tag, position, value):
        return markup.element(tag, value, class_="number" if position in numeric else None)

    head = markup.element("thead", markup.element("tr", *(cell("th", index, value) for index, value in enumerate(header))))
    body = markup.element("tbody", *(markup.element("tr", *(cell("td", index, value) for index, value in enumerate(row)))
                                     for row in rows))
    return markup.element("table", head, body)


def headline(items):
    """Up to four headline numbers in boxes: (label, value) pairs."""
    return markup.element("div", *(markup.element("div", markup.element("b", value), label) for label, value in items),
                          class_="headline")


def figure(content, caption=None):
    """A figure (an image or a chart) with its caption under it; never split across printed pages."""
    return markup.element("figure", content, markup.element("figcaption", caption) if caption else None)


def row(*figures):
    """Figures side by side, sharing the width equally."""
    return markup.element("div", *figures, class_="row")


def grid(items, columns):
    """Items in a grid of `columns` equal columns, filled row by row."""
    return markup.element("div", *items, class_="grid", style=f"--columns:{int(columns)}")


def verdict(content):
    """A sentence set apart with a bar, e.g. the verdict of a trust check."""
    return markup.element("p", content, class_="verdict")

"""HTML to A4 PDF with fpdf2.

fpdf2 is pure Python (its dependencies install as wheels with no system
libraries), so letters render on any machine the worker runs on. Its HTML
support is a subset: headings, paragraphs, lists, links, <b>/<i>, <br>, <hr>
and tables whose cells hold plain text. Templates keep to that subset; the
<style> in the page head only serves email clients and is not passed here.

Liberation Sans is embedded (metrics of Arial) rather than the PDF core
Helvetica, whose Latin-1 encoding cannot spell many pupils' and parents'
names.
"""
from __future__ import annotations

import re
from datetime import datetime, timezone
from pathlib import Path

from fpdf import FPDF, FontFace, TextStyle
from fpdf.html import HTML2FPDF

FONT_DIR = Path(__file__).parent / "fonts"
FAMILY = "LiberationSans"
TEXT = "#0b0c0c"  # GOV.UK text colour
LINK = "#1d70b8"
BODY_PT = 11

TAG_STYLES = {
    "h1": TextStyle(font_family=FAMILY, font_style="B", font_size_pt=20, color=TEXT, t_margin=2, b_margin=0.4),
    "h2": TextStyle(font_family=FAMILY, font_style="B", font_size_pt=15, color=TEXT, t_margin=5, b_margin=0.3),
    "h3": TextStyle(font_family=FAMILY, font_style="B", font_size_pt=12.5, color=TEXT, t_margin=3, b_margin=0.2),
    "a": FontFace(color=LINK, emphasis="UNDERLINE"),
    "li": TextStyle(l_margin=6, t_margin=1),
}

_BODY = re.compile(r"<body[^>]*>(.*)</body>", re.S | re.I)
_DROP = re.compile(r"<(style|script|head)\b.*?</\1>", re.S | re.I)
# Template line breaks next to block tags would become blank lines in the PDF.
_BLOCK = re.compile(
    r"\s*(</?(?:p|h[1-6]|ul|ol|li|table|tr|td|th|hr|br|div|dl|dt|dd)\b[^>]*>)\s*", re.I
)


class FontsMissing(RuntimeError):
    pass


class _Html(HTML2FPDF):
    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        super().handle_starttag(tag, attrs)
        if tag == "table":
            # A table takes its base font from the document's current one, which
            # a <b> opening an earlier paragraph can leave bold.
            self.pdf.set_font(FAMILY, style="", size=BODY_PT)
            self.pdf.ln(2)


class _Page(FPDF):
    HTML2FPDF_CLASS = _Html

    def __init__(self, footer_text: str) -> None:
        super().__init__(orientation="portrait", unit="mm", format="A4")
        self.footer_text = footer_text

    def footer(self) -> None:
        self.set_y(-14)
        self.set_font(FAMILY, size=8)
        self.set_text_color(80, 90, 95)
        self.cell(0, 5, f"{self.footer_text}    Page {self.page_no()} of {{nb}}", align="C")


def body_of(html: str) -> str:
    m = _BODY.search(html)
    return _BLOCK.sub(r"\1", _DROP.sub("", m.group(1) if m else html)).strip()


def html_to_pdf(html: str, *, title: str, footer: str, created: datetime, author: str = "") -> bytes:
    """Lay `html` out on A4. A fixed `created` keeps the bytes (and their hash)
    identical when the same document is rendered again, e.g. on a retry."""
    pdf = _Page(footer)
    for style, suffix in (("", "Regular"), ("B", "Bold"), ("I", "Italic"), ("BI", "BoldItalic")):
        path = FONT_DIR / f"LiberationSans-{suffix}.ttf"
        if not path.is_file():
            raise FontsMissing(f"font file not installed: {path.name}")
        pdf.add_font(FAMILY, style, str(path))
    if created.tzinfo is None:
        created = created.replace(tzinfo=timezone.utc)
    pdf.set_creation_date(created)
    pdf.set_title(title)
    pdf.set_lang("en-GB")
    if author:
        pdf.set_author(author)
    pdf.set_producer("apflow")
    pdf.set_margins(left=20, top=18, right=20)
    pdf.set_auto_page_break(auto=True, margin=20)
    pdf.add_page()
    pdf.set_font(FAMILY, size=BODY_PT)
    pdf.set_text_color(TEXT)
    pdf.write_html(
        body_of(html),
        font_family=FAMILY,
        tag_styles=TAG_STYLES,
        li_prefix_color=(11, 12, 12),
        warn_on_tags_not_matching=False,
    )
    return bytes(pdf.output())

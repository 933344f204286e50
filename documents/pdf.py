"""HTML to A4 PDF with fpdf2.

fpdf2 is pure Python (its dependencies install as wheels with no system
libraries), so letters render on any machine the worker runs on. Its HTML
support is a subset: headings, paragraphs, lists, links, <b>/<i>, <br>, <hr>
and tables whose cells hold plain text. Templates keep to that subset; the
<style> in the page head only serves email clients and is not passed here.

Liberation Sans is embedded (metrics of Arial) rather than the PDF core
Helvetica, whose Latin-1 encoding cannot spell many pupils' and parents'
names.

The four font files are parsed by fontTools once a process (`_Fonts`), not
once a letter: each document gets its own light copy of the parsed fonts
(its own glyph subset, widths and descriptor, and its own handle on the
file's bytes for fpdf2 to subset when it writes the PDF), so documents
rendered at the same time in the activities' threads share only what no one
writes. What is embedded is what `FPDF.add_font` would have made of the
same file: the PDF's bytes do not depend on whether the fonts were parsed
for this letter or an earlier one.
"""
from __future__ import annotations

import copy
import re
import threading
from dataclasses import dataclass
from datetime import datetime, timezone
from io import BytesIO
from pathlib import Path

from fontTools import ttLib
from fpdf import FPDF, FontFace, TextStyle
from fpdf.fonts import SubsetMap, TTFFont
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


STYLES = (("", "Regular"), ("B", "Bold"), ("I", "Italic"), ("BI", "BoldItalic"))


class FontsMissing(RuntimeError):
    pass


@dataclass(frozen=True)
class _Parsed:
    font: TTFFont  # as `add_font` made it; never given to a document, never written to
    data: bytes  # the file, for each document's own fontTools handle


class _Fonts:
    """The fonts parsed once, and a fresh copy of them for each document."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._lock = threading.Lock()
        self._parsed: list[_Parsed] | None = None

    def _load(self) -> list[_Parsed]:
        with self._lock:
            if self._parsed is None:
                paths = [self.folder / f"LiberationSans-{suffix}.ttf" for _, suffix in STYLES]
                for path in paths:
                    if not path.is_file():
                        raise FontsMissing(f"font file not installed: {path.name}")
                parser = FPDF()
                for (style, _), path in zip(STYLES, paths):
                    parser.add_font(FAMILY, style, str(path))
                fonts = list(parser.fonts.values())
                self._parsed = [_Parsed(font, path.read_bytes()) for font, path in zip(fonts, paths)]
            return self._parsed

    def add_to(self, pdf: FPDF) -> None:
        """What `pdf.add_font` does for each style, without parsing the files again."""
        for parsed in self._load():
            font = _copy_of(parsed, pdf)
            pdf.fonts[font.fontkey] = font


def _copy_of(parsed: _Parsed, pdf: FPDF) -> TTFFont:
    """A document's own font: what fpdf2 changes while laying out and writing
    one document is its own; the parsed tables it only reads are shared."""
    proto = parsed.font
    font = TTFFont.__new__(TTFFont)
    for name in TTFFont.__slots__:
        if hasattr(proto, name):
            setattr(font, name, getattr(proto, name))
    font.i = len(pdf.fonts) + 1
    font.cw = copy.copy(proto.cw)  # a defaultdict: a lookup of a missing character adds it
    font.desc = copy.copy(proto.desc)  # given its name, object id and font file on output
    font.missing_glyphs = []
    font.biggest_size_pt = 0
    font._hbfont = None
    # fpdf2 subsets this in place and closes it when the PDF is written.
    font.ttfont = ttLib.TTFont(BytesIO(parsed.data), recalcTimestamp=False, lazy=True)
    font.subset = SubsetMap(font)
    return font


FONTS = _Fonts(FONT_DIR)


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
    FONTS.add_to(pdf)
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

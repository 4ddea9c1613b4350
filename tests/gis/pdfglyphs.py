"""Read back what a PDF draws: the glyphs of its text (by name) and its pages as PNG (poppler).

``pdf_glyph_names`` decodes every ``Tj``/``TJ`` string of a page shown in a Type 0 font with
``Identity-H`` encoding (what matplotlib embeds with ``pdf.fonttype`` 42): two-byte CIDs, through
the font's ``CIDToGIDMap`` to glyph ids of the embedded TrueType subset, to glyph names. Glyph
names survive subsetting, so they can be compared with HarfBuzz's shaping of the original font.
"""

from __future__ import annotations

import io
import subprocess
from pathlib import Path

import uharfbuzz as hb
from fontTools.ttLib import TTFont
from pypdf import PdfReader
from pypdf.generic import ByteStringObject, ContentStream, TextStringObject


def _font_tables(font: object) -> tuple[TTFont, bytes | None]:
    descendant = font["/DescendantFonts"][0].get_object()  # type: ignore[index]
    program = descendant["/FontDescriptor"]["/FontFile2"].get_object().get_data()
    mapping = descendant.get("/CIDToGIDMap")
    table = None
    if mapping is not None and hasattr(mapping.get_object(), "get_data"):
        table = mapping.get_object().get_data()
    return TTFont(io.BytesIO(program)), table


def pdf_glyph_names(pdf: bytes, page: int = 0) -> list[str]:
    """The names of the glyphs a page's text operators draw, in drawing order."""
    reader = PdfReader(io.BytesIO(pdf))
    pdf_page = reader.pages[page]
    fonts = {
        key: _font_tables(ref.get_object()) for key, ref in pdf_page["/Resources"]["/Font"].items()
    }
    names: list[str] = []
    current = None
    for operands, operator in ContentStream(pdf_page.get_contents(), reader).operations:
        if operator == b"Tf":
            current = operands[0]
        elif operator in (b"Tj", b"TJ"):
            strings = operands[0] if operator == b"TJ" else [operands[0]]
            ttf, table = fonts[current]
            order = ttf.getGlyphOrder()
            for item in strings:
                if isinstance(item, ByteStringObject | TextStringObject):
                    data = item.original_bytes
                    for i in range(0, len(data), 2):
                        cid = data[i] << 8 | data[i + 1]
                        gid = cid if table is None else table[2 * cid] << 8 | table[2 * cid + 1]
                        names.append(order[gid])
    return names


def harfbuzz_glyph_names(font_path: str, text: str) -> list[str]:
    """HarfBuzz's shaping of ``text`` with the font at ``font_path``: glyph names in visual order."""
    font = hb.Font(hb.Face(hb.Blob.from_file_path(font_path)))
    buffer = hb.Buffer()
    buffer.add_str(text)
    buffer.guess_segment_properties()
    hb.shape(font, buffer, {})
    order = TTFont(font_path).getGlyphOrder()
    return [order[info.codepoint] for info in buffer.glyph_infos]


def unshaped_glyph_names(font_path: str, text: str) -> list[str]:
    """One glyph per code point from the font's cmap: what a renderer without shaping draws."""
    cmap = TTFont(font_path).getBestCmap()
    return [cmap[ord(ch)] for ch in text]


def render_png(pdf: Path, out_prefix: Path, *, dpi: int = 50) -> list[Path]:
    """Each page of ``pdf`` as PNG by poppler's ``pdftoppm``; the files written, in page order."""
    subprocess.run(
        ["pdftoppm", "-r", str(dpi), "-png", str(pdf), str(out_prefix)], check=True, timeout=120
    )
    return sorted(out_prefix.parent.glob(f"{out_prefix.name}-*.png"))


def pdf_text(pdf: Path) -> str:
    """The text of ``pdf`` by poppler's ``pdftotext``."""
    done = subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"], check=True, capture_output=True, timeout=60
    )
    return done.stdout.decode("utf-8")

"""PDF text that copies and searches as it was written, Devanagari included.

matplotlib ≥ 3.11 shapes Devanagari with libraqm (HarfBuzz), so the glyphs it draws are right
(conjuncts, the reordered ि matra, reph), but a shaped glyph stands for a cluster of characters and
a reordered one comes before the consonant it follows in the text: the ToUnicode map alone cannot
give the text back. ``pdftotext`` read "क्षेक्षेत्र संसंगठनकर्तार्तार्ता" from the sheets.

The PDF standard's answer is a marked-content span with ``/ActualText`` (ISO 32000-1, 14.9.4): the
reader takes the span's text from it instead of from the glyphs. ``actual_text`` makes matplotlib's
PDF renderer wrap every text it draws in such a span carrying the original string (UTF-16BE),
inside the text object (``BT`` … ``ET``) matplotlib writes for it; the drawing itself is unchanged.

Chosen over WeasyPrint (Pango writes the same cluster mapping, needs Cairo/Pango system libraries
and an HTML rendering of the map) and ReportLab with uharfbuzz shaping (a second drawing engine for
the maps, which matplotlib draws from the GeoDataFrames); checked by ``pdftotext`` in the tests.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import matplotlib as mpl
from matplotlib.backends import backend_pdf
from matplotlib.backends.backend_pdf import Name, Op, Verbatim

_SWAP_LOCK = threading.Lock()


def _utf16(text: str) -> bytes:
    """A PDF text string: UTF-16BE with its byte order mark."""
    return "\ufeff".encode("utf-16-be") + text.encode("utf-16-be")


def _name(text: str) -> Any:
    return Name(text)  # type: ignore[no-untyped-call]


def _verbatim(data: bytes) -> Any:
    return Verbatim(data)  # type: ignore[no-untyped-call]


class ActualTextRenderer(backend_pdf.RendererPdf):
    """matplotlib's PDF renderer, with each text in a ``/Span`` marked-content sequence whose
    ``/ActualText`` is the string drawn."""

    def draw_text(
        self,
        gc: Any,
        x: float,
        y: float,
        s: str,
        prop: Any,
        angle: float,
        ismath: bool | str = False,
        mtext: Any = None,
    ) -> None:
        if ismath or mpl.rcParams["pdf.use14corefonts"] or gc.get_url() is not None or not s:
            super().draw_text(gc, x, y, s, prop, angle, ismath, mtext)  # type: ignore[no-untyped-call]
            return
        span = [_name("Span"), {"ActualText": _utf16(s)}, _verbatim(b"BDC")]
        pdf = self.file
        output = pdf.output

        def marked(*data: Any) -> None:
            # The span opens right after BT and closes right before ET: a marked-content sequence
            # may not cross a text object's bounds, and poppler reads the span's position in the
            # text state current at its end.
            if data and data[0] is Op.end_text:
                output(_verbatim(b"EMC"))
            output(*data)
            if data and data[0] is Op.begin_text and len(data) == 1:
                output(*span)

        pdf.output = marked
        try:
            super().draw_text(gc, x, y, s, prop, angle, ismath, mtext)  # type: ignore[no-untyped-call]
        finally:
            del pdf.output


@contextmanager
def actual_text() -> Iterator[None]:
    """While open, PDFs matplotlib writes (``savefig``, ``PdfPages``) carry ``/ActualText``.

    matplotlib's PDF canvas builds its renderer from the module's ``RendererPdf``, so that name is
    pointed at ``ActualTextRenderer`` for the duration; one PDF is written at a time.
    """
    with _SWAP_LOCK:
        original = backend_pdf.RendererPdf
        backend_pdf.RendererPdf = ActualTextRenderer  # type: ignore[misc]
        try:
            yield
        finally:
            backend_pdf.RendererPdf = original  # type: ignore[misc]

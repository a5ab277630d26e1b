"""The text of a PDF written by fpdf2 with its position, read from its content streams.

fpdf2 writes each text run as ``BT x y Td (text) Tj ET`` (points, origin at the bottom left)
in Flate-compressed streams, with core fonts in a Latin-1 literal string. This reads those
runs back, so that a test can check what a page says and where, without a PDF library.
"""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass

MM = 72 / 25.4
A4_HEIGHT_MM = 297.0
_STREAM = re.compile(rb"<<(?P<dict>(?:(?!>>).)*?)>>\s*stream\r?\n(?P<data>.*?)\r?\nendstream", re.S)
_RUN = re.compile(
    rb"BT\s+([-\d.]+)\s+([-\d.]+)\s+Td\s+(?P<shows>(?:\((?:\\.|[^\\)])*\)\s*Tj\s*)+)ET", re.S
)
_SHOW = re.compile(rb"\((?P<text>(?:\\.|[^\\)])*)\)\s*Tj", re.S)
_ESCAPE = re.compile(rb"\\(\d{1,3}|.)", re.S)


@dataclass(frozen=True)
class Run:
    page: int
    text: str
    x_mm: float  # from the left edge
    top_mm: float  # from the top edge, at the baseline

    def __str__(self) -> str:
        return self.text


def _unescape(raw: bytes) -> str:
    def one(match: re.Match[bytes]) -> bytes:
        code = match.group(1)
        if code.isdigit():
            return bytes([int(code, 8)])
        return {b"n": b"\n", b"r": b"\r", b"t": b"\t"}.get(code, code)

    return _ESCAPE.sub(one, raw).decode("latin-1")


def text_runs(pdf: bytes) -> list[Run]:
    """Every text run, page by page in the order written (pages numbered from 1)."""
    runs: list[Run] = []
    page = 0
    for match in _STREAM.finditer(pdf):
        data = match.group("data")
        if b"FlateDecode" in match.group("dict"):
            try:
                data = zlib.decompress(data)
            except zlib.error:
                continue
        found = list(_RUN.finditer(data))
        if not found:
            continue
        page += 1
        for run in found:
            x, y = float(run.group(1)), float(run.group(2))
            text = "".join(_unescape(m.group("text")) for m in _SHOW.finditer(run.group("shows")))
            runs.append(Run(page, text, x / MM, A4_HEIGHT_MM - y / MM))
    return runs


def page_text(pdf: bytes, page: int | None = None) -> str:
    return "\n".join(r.text for r in text_runs(pdf) if page is None or r.page == page)

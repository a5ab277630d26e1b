"""The text of a PDF written by fpdf2 with its position, read from its content streams.

fpdf2 writes each text run as ``BT x y Td (text) Tj ... ET`` (points, origin at the bottom
left) in Flate-compressed streams, selecting fonts with ``/F1 10 Tf``. A core font's string
is Latin-1; an embedded TrueType font's string is two-byte glyph codes, which its
``/ToUnicode`` map turns back into text. This reads those runs back, so that the demo's
checks can read the letters the notifier dropped for the print room and a test can check
what a page says and where. It reads the notifier's own PDFs (fpdf2's output), not PDFs in
general: a general reader would be a dependency (pypdf).
"""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass

MM = 72 / 25.4
A4_HEIGHT_MM = 297.0
_OBJECT = re.compile(rb"(?<![0-9])(\d+) 0 obj\s*(?P<body>.*?)endobj", re.S)
_STREAM = re.compile(rb"stream\r?\n(?P<data>.*?)\r?\nendstream", re.S)
_TOKEN = re.compile(
    rb"(?P<font>/(?P<name>[A-Za-z0-9]+)\s+[-\d.]+\s+Tf)"
    rb"|(?P<bt>BT\s+(?P<x>[-\d.]+)\s+(?P<y>[-\d.]+)\s+Td\s+"
    rb"(?P<shows>(?:\((?:\\.|[^\\)])*\)\s*Tj\s*)+)ET)",
    re.S,
)
_SHOW = re.compile(rb"\((?P<text>(?:\\.|[^\\)])*)\)\s*Tj", re.S)
_ESCAPE = re.compile(rb"\\([0-7]{1,3}|.)", re.S)
_BFCHAR = re.compile(rb"<([0-9A-Fa-f]{4})>\s*<([0-9A-Fa-f]+)>")


@dataclass(frozen=True)
class Run:
    page: int
    text: str
    x_mm: float  # from the left edge
    top_mm: float  # from the top edge, at the baseline

    def __str__(self) -> str:
        return self.text


def _unescape(raw: bytes) -> bytes:
    def one(match: re.Match[bytes]) -> bytes:
        code = match.group(1)
        if code[:1].isdigit():
            return bytes([int(code, 8)])
        return {b"n": b"\n", b"r": b"\r", b"t": b"\t"}.get(code, code)

    return _ESCAPE.sub(one, raw)


def _data(body: bytes) -> bytes | None:
    match = _STREAM.search(body)
    if match is None:
        return None
    data = match.group("data")
    if b"FlateDecode" in body[: match.start()]:
        try:
            return zlib.decompress(data)
        except zlib.error:
            return None
    return data


def text_runs(pdf: bytes) -> list[Run]:
    """Every text run, page by page in the order written (pages numbered from 1)."""
    objects = {int(m.group(1)): m.group("body") for m in _OBJECT.finditer(pdf)}
    cmaps: dict[int, dict[int, str]] = {}  # font object -> code -> text
    for number, body in objects.items():
        to_unicode = re.search(rb"/ToUnicode (\d+) 0 R", body)
        if b"/Type /Font" in body and to_unicode:
            stream = _data(objects[int(to_unicode.group(1))]) or b""
            cmaps[number] = {
                int(code, 16): bytes.fromhex(text.decode()).decode("utf-16-be")
                for code, text in _BFCHAR.findall(stream)
            }
    fonts: dict[bytes, int] = {}  # resource name (F1) -> font object
    for body in objects.values():
        for block in re.findall(rb"/Font\s*<<(.*?)>>", body, re.S):
            for name, number in re.findall(rb"/([A-Za-z0-9]+)\s+(\d+) 0 R", block):
                fonts[name] = int(number)
    runs: list[Run] = []
    page = 0
    for number in sorted(objects):
        body = objects[number]
        if b"/Type /Font" in body or b"/Type /Page" in body:
            continue
        data = _data(body)
        if data is None or b" Td " not in data:
            continue
        page += 1
        cmap: dict[int, str] | None = None
        for token in _TOKEN.finditer(data):
            if token.group("font"):
                cmap = cmaps.get(fonts.get(token.group("name"), -1))
                continue
            raw = b"".join(_unescape(m.group("text")) for m in _SHOW.finditer(token["shows"]))
            if cmap is None:
                text = raw.decode("latin-1")
            else:
                codes = (int.from_bytes(raw[i : i + 2], "big") for i in range(0, len(raw), 2))
                text = "".join(cmap.get(code, "\ufffd") for code in codes)
            x, y = float(token.group("x")), float(token.group("y"))
            runs.append(Run(page, text, x / MM, A4_HEIGHT_MM - y / MM))
    return runs


def page_text(pdf: bytes, page: int | None = None) -> str:
    return "\n".join(r.text for r in text_runs(pdf) if page is None or r.page == page)

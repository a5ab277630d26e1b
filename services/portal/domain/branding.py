"""The invoicing company's colours on the pages, checked: pure functions of hex colours.

A company's ``primary`` colour fills the masthead and the buttons under white text, so it
must give white text at least WCAG 2.1 AA's 4.5:1 contrast; an ``accent`` (links, the
focus ring's neighbour) must give 4.5:1 against the white sections it is written on. A
colour that does not is refused when the companies file is read, naming the company.
"""

from __future__ import annotations

import re

HEX_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")
AA_TEXT = 4.5
WHITE = "#ffffff"


def relative_luminance(colour: str) -> float:
    """WCAG 2.1's relative luminance of ``#rrggbb``."""
    if not HEX_COLOUR.match(colour):
        raise ValueError(f"{colour!r} is not a colour written #rrggbb")
    channels = []
    for start in (1, 3, 5):
        value = int(colour[start : start + 2], 16) / 255
        channels.append(value / 12.92 if value <= 0.04045 else ((value + 0.055) / 1.055) ** 2.4)
    red, green, blue = channels
    return 0.2126 * red + 0.7152 * green + 0.0722 * blue


def contrast(first: str, second: str) -> float:
    """The contrast ratio of two colours, 1 to 21."""
    lighter, darker = sorted((relative_luminance(first), relative_luminance(second)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def check_on_white(colour: str, role: str) -> str:
    """``colour`` if text in it on white (or white text on it) meets AA, else ValueError."""
    ratio = contrast(colour, WHITE)
    if ratio < AA_TEXT:
        raise ValueError(
            f"the {role} colour {colour} gives {ratio:.2f}:1 with white, below WCAG AA's "
            f"{AA_TEXT}:1: choose a darker shade"
        )
    return colour.lower()


def brand_stylesheet(primary: str, accent: str | None) -> str:
    """The company's stylesheet, served after the pages' own (CSS custom values only: the
    colours were checked, so nothing else can be written into it)."""
    accent = accent or primary
    return (
        f".masthead, button {{ background: {primary}; }}\n"
        f"button:hover {{ background: {accent}; }}\n"
        f".copy a, .company-identity a {{ color: {accent}; }}\n"
        f".masthead {{ border-bottom: 4px solid {accent}; }}\n"
    )

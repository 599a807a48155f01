"""Templates a strict Content-Security-Policy can serve: no inline style, inline script or on* handler."""

from __future__ import annotations

import re
from pathlib import Path

import gmc
from gmc.samples.printing import datamatrix_svg

TEMPLATES = sorted(p for p in Path(gmc.__file__).parent.rglob("templates/**/*.html"))
#: A <script> that carries code: neither a src= file nor a JSON data block.
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\b(?:src=|type=\"application/json\"))[^>]*>", re.IGNORECASE)
STYLE_ATTRIBUTE = re.compile(r"<[a-zA-Z][^>]*\sstyle=", re.IGNORECASE)
HANDLER_ATTRIBUTE = re.compile(r"<[a-zA-Z][^>]*\son[a-z]+=", re.IGNORECASE)


def test_templates_have_no_inline_style_script_or_handlers() -> None:
    assert len(TEMPLATES) > 50  # every feature's templates were found
    found = []
    for path in TEMPLATES:
        text = path.read_text(encoding="utf-8")
        for name, pattern in (("style attribute", STYLE_ATTRIBUTE), ("inline script", INLINE_SCRIPT),
                              ("on* handler", HANDLER_ATTRIBUTE)):
            for match in pattern.finditer(text):
                line = text.count("\n", 0, match.start()) + 1
                found.append(f"{path.relative_to(Path(gmc.__file__).parent)}:{line}: {name}")
    assert not found, "\n".join(found)


def test_sample_datamatrix_is_labelled_inline_svg_without_style() -> None:
    svg = datamatrix_svg("GMC-S-000123")
    assert svg.startswith("<svg ") and "<?xml" not in svg
    assert 'role="img"' in svg and 'aria-label="DataMatrix of GMC-S-000123"' in svg
    assert "style=" not in svg and re.search(r'viewBox="0 0 \d+ \d+"', svg)

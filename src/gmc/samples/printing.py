"""Printable output: barcode label sheets (Code128 + DataMatrix), shipment manifests as CSV and PDF."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from datetime import datetime

from reportlab.graphics import renderPDF
from reportlab.graphics.barcode import createBarcodeDrawing
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfgen import canvas

from gmc.common.escaping import spreadsheet_row


@dataclass(frozen=True)
class Label:
    """What one sample label shows: the barcode, the participant id, the type and the collection date."""

    barcode: str
    participant_id: str
    sample_type: str
    collected: str


@dataclass(frozen=True)
class ManifestLine:
    """One sample on a shipment manifest."""

    barcode: str
    participant_id: str
    sample_type: str
    tissue: str
    state: str
    collected: str
    received: str = ""


MANIFEST_COLUMNS = ["barcode", "participant_id", "sample_type", "tissue", "state", "collected", "received"]

# A 3 x 8 sheet of 63.5 x 33.9 mm labels (common laser label stock).
_COLS, _ROWS, _LABEL_W, _LABEL_H = 3, 8, 63.5 * mm, 33.9 * mm
_LEFT, _TOP = 7.2 * mm, 12.9 * mm


def datamatrix_svg(text: str) -> str:
    """A DataMatrix symbol of the text as inline SVG markup for the sample page, labelled for screen readers."""
    from html import escape

    from ppf.datamatrix import DataMatrix

    svg = DataMatrix(text).svg().split("?>", 1)[-1]  # inline markup takes no XML declaration
    # No style attribute (a strict Content-Security-Policy refuses it; the stylesheet gives the white ground).
    svg = re.sub(r'(<svg\b[^>]*?) style="[^"]*"', r"\1", svg, count=1)
    # A viewBox instead of a fixed 16 px size, so the stylesheet can draw it large enough to scan from a screen.
    size = re.search(r'<svg\b[^>]*?height="(\d+)px" width="(\d+)px"', svg)
    if size:
        svg = svg.replace(size.group(0), size.group(0).replace(
            f'height="{size[1]}px" width="{size[2]}px"', f'viewBox="0 0 {size[2]} {size[1]}"'), 1)
    return svg.replace("<svg ", f'<svg role="img" aria-label="DataMatrix of {escape(text)}" ', 1)


def label_sheet_pdf(labels: list[Label], *, title: str = "gmc sample labels") -> bytes:
    """A PDF of label sheets: each label has a Code128 barcode, a DataMatrix and the sample facts."""
    buf = io.BytesIO()
    pdf = canvas.Canvas(buf, pagesize=A4, pageCompression=0)
    pdf.setTitle(title)
    _, page_h = A4
    per_page = _COLS * _ROWS
    for i, label in enumerate(labels):
        if i and i % per_page == 0:
            pdf.showPage()
        slot = i % per_page
        x = _LEFT + (slot % _COLS) * _LABEL_W
        y = page_h - _TOP - (slot // _COLS + 1) * _LABEL_H
        code128 = createBarcodeDrawing("Code128", value=label.barcode, barHeight=10 * mm, barWidth=0.28 * mm,
                                       humanReadable=True, fontSize=7)
        renderPDF.draw(code128, pdf, x + 2 * mm, y + _LABEL_H - 17 * mm)
        matrix = createBarcodeDrawing("ECC200DataMatrix", value=label.barcode, width=14 * mm, height=14 * mm)
        renderPDF.draw(matrix, pdf, x + _LABEL_W - 17 * mm, y + 3 * mm)
        pdf.setFont("Helvetica", 7)
        pdf.drawString(x + 3 * mm, y + 10 * mm, f"{label.participant_id}  {label.sample_type}")
        pdf.drawString(x + 3 * mm, y + 6 * mm, f"collected {label.collected}")
    if not labels:
        pdf.drawString(20 * mm, page_h - 20 * mm, "No labels selected.")
    pdf.showPage()
    pdf.save()
    return buf.getvalue()


def manifest_csv(lines: list[ManifestLine]) -> str:
    """The manifest as CSV with a header row."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(MANIFEST_COLUMNS)
    for line in lines:
        writer.writerow(spreadsheet_row(getattr(line, c) for c in MANIFEST_COLUMNS))
    return out.getvalue()


def manifest_pdf(*, reference: str, kind: str, origin: str, destination: str, status: str,
                 shipped_at: datetime | None, lines: list[ManifestLine]) -> bytes:
    """A printable manifest: header, one row per sample with its Code128 barcode, and signature boxes."""
    buf = io.BytesIO()
    pdf = canvas.Canvas(buf, pagesize=A4, pageCompression=0)
    pdf.setTitle(f"Manifest {reference}")
    width, height = A4

    def header() -> float:
        pdf.setFont("Helvetica-Bold", 14)
        pdf.drawString(15 * mm, height - 18 * mm, f"Shipment manifest {reference}")
        pdf.setFont("Helvetica", 9)
        pdf.drawString(15 * mm, height - 25 * mm, f"{kind.replace('_', ' ')} · from {origin} · to {destination}")
        when = shipped_at.strftime("%Y-%m-%d %H:%M UTC") if shipped_at else "not shipped yet"
        pdf.drawString(15 * mm, height - 30 * mm, f"status {status} · shipped {when} · {len(lines)} samples")
        pdf.setFont("Helvetica-Bold", 8)
        y = height - 40 * mm
        for x, text in zip((15, 70, 100, 130, 152, 175), ("Barcode", "Participant", "Type", "Tissue", "State",
                                                          "Collected"), strict=True):
            pdf.drawString(x * mm, y, text)
        return y - 4 * mm

    y = header()
    for line in lines:
        if y < 40 * mm:
            pdf.showPage()
            y = header()
        drawing = createBarcodeDrawing("Code128", value=line.barcode, barHeight=7 * mm, barWidth=0.25 * mm,
                                       humanReadable=True, fontSize=6)
        renderPDF.draw(drawing, pdf, 13 * mm, y - 10 * mm)
        pdf.setFont("Helvetica", 8)
        for x, text in zip((70, 100, 130, 152, 175), (line.participant_id, line.sample_type, line.tissue,
                                                      line.state, line.collected), strict=True):
            pdf.drawString(x * mm, y - 6 * mm, text[:24])
        y -= 13 * mm
    pdf.setFont("Helvetica", 9)
    pdf.drawString(15 * mm, 25 * mm, "Packed by: ____________________   Signature: ____________   Date: ________")
    pdf.drawString(15 * mm, 15 * mm, "Received by: __________________   Signature: ____________   Date: ________")
    pdf.showPage()
    pdf.save()
    return buf.getvalue()

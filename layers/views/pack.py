"""A briefing pack: the current view as a PDF a partner can take away.

Laid out with ReportLab (pure Python, no system libraries, and the standard for
generating PDFs in Python): a cover, the map, the headline figures and charts, the
per-area table, what changed since the last pack, data quality and sources. The handling
marking heads every page, with the page number at its foot.

Everything here is text we are given, drawn as text: ReportLab's paragraphs read a small
markup, so every value is escaped before it is laid out (feed text never becomes markup).
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from xml.sax.saxutils import escape

import pandas as pd
from PIL import Image as PILImage
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape, letter
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import cm
from reportlab.platypus import (
    Image,
    KeepTogether,
    PageBreak,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

PAGES = {"A4": landscape(A4), "Letter": landscape(letter)}
MARKING = "RESTRICTED - for the named recipients only"
MARGIN = 1.4 * cm
TABLE_ROWS = 60  # of the per-area table; the rest is counted


@dataclass(frozen=True)
class Pack:
    """What a pack shows; every text is shown as text."""

    title: str
    marking: str
    made_by: str  # who, and in which role
    picture_time: str
    view: str  # the filters in words
    figures: Sequence[tuple[str, str]]  # headline figures: label, value
    feeds: pd.DataFrame  # feed, file, state, updated, rows, problems
    areas: pd.DataFrame  # per-area figures
    map_image: bytes | None = None  # PNG or JPEG
    charts: Sequence[tuple[str, bytes]] = ()  # title, PNG
    tables: Sequence[tuple[str, pd.DataFrame]] = ()  # more of the view: title, rows
    changes: Sequence[str] = ()  # what changed since the last pack, in sentences
    changes_since: str = ""  # what the changes compare with; "": not compared, no section
    quality: Sequence[str] = ()  # data-quality notes
    exercise: str = ""  # the label of synthetic data
    metadata: dict[str, str] = field(default_factory=dict)
    table_rows: int = TABLE_ROWS  # of each table; the rest is counted


def pdf(pack: Pack, page: str = "A4") -> bytes:
    """The pack as PDF bytes, on A4 or US Letter, landscape."""
    size = PAGES[page]
    out = io.BytesIO()
    doc = SimpleDocTemplate(
        out,
        pagesize=size,
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=MARGIN + 0.6 * cm,
        bottomMargin=MARGIN,
        title=pack.title,
        author=pack.made_by,
        subject=pack.marking,
        creator="Pollwatch",
    )
    width = size[0] - 2 * MARGIN
    height = size[1] - 2 * MARGIN - 0.6 * cm
    styles = getSampleStyleSheet()
    body = styles["BodyText"]
    small = ParagraphStyle("small", parent=body, fontSize=8, leading=10)
    story: list[object] = []

    def text(value: object, style: ParagraphStyle = body) -> Paragraph:
        return Paragraph(escape(str(value)), style)

    # Cover
    story += [Spacer(1, 1.5 * cm), text(pack.title, styles["Title"])]
    if pack.exercise:
        story.append(text(pack.exercise, ParagraphStyle("x", parent=body, textColor=colors.red)))
    story += [
        text(f"Picture at {pack.picture_time}"),
        text(f"View: {pack.view}"),
        text(f"Made by {pack.made_by}"),
        Spacer(1, 0.4 * cm),
        _table(pack.feeds, width, small),
        Spacer(1, 0.4 * cm),
        text(f"Handling: {pack.marking}", styles["Heading3"]),
        PageBreak(),
    ]
    # Map
    if pack.map_image is not None:
        story += [
            text("Map of the view", styles["Heading2"]),
            _image(pack.map_image, width, height - 1.5 * cm),
            PageBreak(),
        ]
    # Figures and charts
    story.append(text("Headline figures", styles["Heading2"]))
    figures = Table(
        [[text(label, small) for label, _ in pack.figures], [text(v) for _, v in pack.figures]],
        colWidths=[width / max(1, len(pack.figures))] * len(pack.figures),
    )
    figures.setStyle(TableStyle([("BOX", (0, 0), (-1, -1), 0.5, colors.grey)]))
    story += [figures, Spacer(1, 0.4 * cm)]
    if pack.charts:
        cell = width / len(pack.charts)
        story.append(
            Table(
                [
                    [text(title, small) for title, _ in pack.charts],
                    [_image(png, cell - 6, height / 2) for _, png in pack.charts],
                ],
                colWidths=[cell] * len(pack.charts),
            )
        )
        story.append(PageBreak())
    # Per area
    if len(pack.areas.columns):
        story.append(text("By area", styles["Heading2"]))
        shown = pack.areas.head(TABLE_ROWS)
        story.append(_table(shown, width, small))
        if len(pack.areas) > TABLE_ROWS:
            story.append(text(f"... and {len(pack.areas) - TABLE_ROWS:,} more areas.", small))
    for title, frame in pack.tables:
        story.append(text(title, styles["Heading2"]))
        if not len(frame) or not len(frame.columns):
            story.append(text("None."))
            continue
        story.append(_table(frame.head(pack.table_rows), width, small))
        if len(frame) > pack.table_rows:
            story.append(text(f"... and {len(frame) - pack.table_rows:,} more.", small))
    # Changes, quality, sources
    if pack.changes_since:  # not compared where the page shows no picture
        story.append(
            KeepTogether(
                [
                    text(f"What changed since {pack.changes_since}", styles["Heading2"]),
                    *(
                        [text(c) for c in pack.changes]
                        or [text("Nothing to compare with: this is the first pack of this role.")]
                    ),
                ]
            )
        )
    story.append(text("Data quality", styles["Heading2"]))
    story += [text(note) for note in pack.quality] or [text("No problems reported.")]

    def page_frame(canvas: object, doc: object) -> None:
        canvas.saveState()  # type: ignore[attr-defined]
        canvas.setFont("Helvetica-Bold", 9)  # type: ignore[attr-defined]
        canvas.setFillColor(colors.darkred)  # type: ignore[attr-defined]
        top = size[1] - MARGIN + 0.2 * cm
        canvas.drawCentredString(size[0] / 2, top, pack.marking)  # type: ignore[attr-defined]
        canvas.setFont("Helvetica", 8)  # type: ignore[attr-defined]
        canvas.setFillColor(colors.black)  # type: ignore[attr-defined]
        canvas.drawString(MARGIN, MARGIN / 2, f"{pack.title} - {pack.picture_time}")  # type: ignore[attr-defined]
        canvas.drawRightString(  # type: ignore[attr-defined]
            size[0] - MARGIN,
            MARGIN / 2,
            f"Page {doc.page}",  # type: ignore[attr-defined]
        )
        canvas.restoreState()  # type: ignore[attr-defined]

    doc.build(story, onFirstPage=page_frame, onLaterPages=page_frame)
    return out.getvalue()


def _image(data: bytes, width: float, height: float) -> Image:
    """``data`` (PNG or JPEG) scaled to fit ``width`` x ``height`` points, its proportions
    kept.

    Embedded as JPEG (a PNG made one at quality 92, no colour subsampling): ReportLab
    copies a JPEG into the PDF as it is, but decodes and compresses a PNG again, which took
    1-2 s for a map at print resolution."""
    jpeg = io.BytesIO(data)
    if not data.startswith(b"\xff\xd8\xff"):
        flat: PILImage.Image = PILImage.open(io.BytesIO(data))
        if flat.mode != "RGB":  # transparent parts on white paper
            white = PILImage.new("RGB", flat.size, "white")
            white.paste(flat, mask=flat.convert("RGBA").getchannel("A"))
            flat = white
        jpeg = io.BytesIO()
        flat.save(jpeg, "JPEG", quality=92, subsampling=0)
        jpeg.seek(0)
    picture = Image(jpeg)
    scale = min(width / picture.imageWidth, height / picture.imageHeight)
    picture.drawWidth, picture.drawHeight = picture.imageWidth * scale, picture.imageHeight * scale
    return picture


def _table(frame: pd.DataFrame, width: float, style: ParagraphStyle) -> Table:
    """``frame`` as a table of text cells across ``width``."""
    header = [Paragraph(escape(str(c)), style) for c in frame.columns]
    rows = [
        [Paragraph(escape(_cell(v)), style) for v in row]
        for row in frame.itertuples(index=False, name=None)
    ]
    table = Table(
        [header, *rows], colWidths=[width / max(1, len(header))] * len(header), repeatRows=1
    )
    table.setStyle(
        TableStyle(
            [
                ("BACKGROUND", (0, 0), (-1, 0), colors.lightgrey),
                ("GRID", (0, 0), (-1, -1), 0.25, colors.grey),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ]
        )
    )
    return table


def _cell(value: object) -> str:
    if value is None or (pd.api.types.is_scalar(value) and pd.isna(value)):  # NaN, NaT, NA
        return ""
    if isinstance(value, float):
        return f"{value:,.1f}"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, pd.Timestamp):
        return f"{value:%d %b %Y %H:%M} UTC"
    return str(value)

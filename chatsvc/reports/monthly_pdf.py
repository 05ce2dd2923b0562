"""The monthly report as a one-page PDF, drawn with fpdf2 (no browser).

Laid out like the HTML page: the header across the page, then two columns, the chat channel,
the chart and the after-hours messages on the left, the service requests by channel and
department on the right, and the top topics across the bottom in two halves. Rows have a
fixed height and long names are cut short with an ellipsis, so the page never overflows. Pure
Python, and slow for an event loop (a tenth of a second, mostly reading the fonts): the
transport calls it in a worker thread.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

from fpdf import FPDF
from fpdf.enums import Align, XPos, YPos
from fpdf.fonts import TTFFont

from chatsvc.reports.monthly import Chart, Sheet, Table

FONTS = Path(__file__).resolve().parent / "fonts"
FAMILY = "DejaVu"
PAPER = {"letter": "Letter", "a4": "A4"}
MARGIN = 12.0  # mm
GUTTER = 7.0
ROW = 4.3  # a table row's height
SIZE = 7.8  # the tables' type size, in points
CHART_HEIGHT = 30.0
INK = (0, 0, 0)
RULE = (120, 120, 120)
WEEKDAY_BAR = (60, 60, 60)
WEEKEND_BAR = (165, 165, 165)
COMPARED = (0.49, 0.17, 0.17, 0.17)  # a measure, this month, the month before, the change
GROUPS = (0.60, 0.14, 0.11, 0.15)  # a department or topic, opened, open (now), overdue
HALF = 10  # topics in the left half; the rest in the right


def monthly_pdf(sheet: Sheet, *, paper: str = "letter") -> bytes:
    """Print the sheet on one page of `paper` ("letter" or "a4")."""
    page = _Page(sheet, paper)
    top = page.header() + 3
    left = _Column(MARGIN, top, page.column_width)
    right = _Column(MARGIN + page.column_width + GUTTER, top, page.column_width)
    page.table(left, sheet.chats)
    page.chart(left, sheet.chart)
    page.table(left, sheet.after_hours)
    page.table(right, sheet.requests)
    page.table(right, sheet.channels)
    page.table(right, sheet.departments, widths=GROUPS)
    # The topics across the page, in two halves side by side, as on the HTML page.
    topics = sheet.topics
    left.y = right.y = max(left.y, right.y)
    page.heading(left, topics.caption)
    right.y = left.y
    if len(topics.rows) > HALF:
        page.table(left, replace(topics, rows=topics.rows[:HALF]), GROUPS, heading=False)
        page.table(right, replace(topics, rows=topics.rows[HALF:]), GROUPS, heading=False)
    else:
        page.table(left, topics, GROUPS, heading=False)
    return bytes(page.pdf.output())


@dataclass
class _Column:
    x: float
    y: float  # where the next thing goes
    width: float


class _Page:
    """One page of fpdf2, and the report's ways of putting things on it."""

    def __init__(self, sheet: Sheet, paper: str):
        self.sheet = sheet
        self.pdf = pdf = FPDF(orientation="P", unit="mm", format=PAPER[paper])
        pdf.set_auto_page_break(False)
        pdf.set_margins(MARGIN, MARGIN, MARGIN)
        self.glyphs: set[int] | None = None
        for style, file in (("", "DejaVuSansCondensed.ttf"), ("B", "DejaVuSansCondensed-Bold.ttf")):
            pdf.add_font(FAMILY, style, FONTS / file)
            font = pdf.fonts[FAMILY.lower() + style]
            assert isinstance(font, TTFFont)
            self.glyphs = set(font.cmap) & (self.glyphs or set(font.cmap))
        pdf.set_title(self.printable(f"{sheet.title}, {sheet.month}"))
        pdf.set_author(self.printable(sheet.organisation))
        pdf.set_creator("chatsvc")
        pdf.set_lang("en")
        pdf.set_creation_date(datetime.now(UTC))
        pdf.set_text_color(*INK)
        pdf.add_page()
        self.column_width = (pdf.w - 2 * MARGIN - GUTTER) / 2

    def printable(self, text: str) -> str:
        """The text with any character the fonts lack replaced by "?"."""
        glyphs = self.glyphs or set()
        return "".join(c if ord(c) in glyphs else "?" for c in text)

    def fit(self, text: str, width: float) -> str:
        """The text, cut short with an ellipsis to fit `width` in the current font."""
        text = self.printable(text)
        measure = self.pdf.get_string_width
        if measure(text) <= width:
            return text
        while text and measure(text + "…") > width:
            text = text[:-1]
        return text.rstrip() + "…"

    def text(
        self,
        x: float,
        y: float,
        width: float,
        text: str,
        size: float,
        *,
        bold: bool = False,
        align: Align = Align.L,
        height: float | None = None,
    ) -> None:
        """One line of text in a box, cut short if it is too long."""
        self.pdf.set_font(FAMILY, "B" if bold else "", size)
        self.pdf.set_xy(x, y)
        self.pdf.cell(width, height or size * 0.5, self.fit(text, width), align=align)

    def rule(self, x1: float, y1: float, x2: float, y2: float, *, width: float, dark: bool) -> None:
        self.pdf.set_draw_color(*(INK if dark else RULE))
        self.pdf.set_line_width(width)
        self.pdf.line(x1, y1, x2, y2)

    def header(self) -> float:
        """The organisation, the title and month, when it was generated; where it ends."""
        sheet, width = self.sheet, self.pdf.w - 2 * MARGIN
        self.text(MARGIN, MARGIN, width, sheet.organisation, 10, bold=True)
        self.text(MARGIN, MARGIN + 6, width, f"{sheet.title}: {sheet.month}", 17, bold=True)
        self.text(MARGIN, MARGIN + 15, width, sheet.generated, 8.5)
        y = MARGIN + 19.5
        if sheet.in_progress:
            self.text(MARGIN, y, width, sheet.in_progress, 8.5, bold=True)
            y += 4.5
        self.rule(MARGIN, y, self.pdf.w - MARGIN, y, width=0.5, dark=True)
        return y

    def heading(self, column: _Column, text: str) -> None:
        self.text(column.x, column.y, column.width, text, 10.5, bold=True, height=5.5)
        column.y += 6.5

    def note(self, column: _Column, text: str) -> None:
        self.pdf.set_font(FAMILY, "", 6.8)
        self.pdf.set_xy(column.x, column.y + 0.8)
        self.pdf.multi_cell(
            column.width,
            3.1,
            self.printable(text),
            align=Align.L,
            new_x=XPos.LMARGIN,
            new_y=YPos.NEXT,
        )
        column.y = self.pdf.get_y()

    def table(
        self,
        column: _Column,
        table: Table,
        widths: tuple[float, ...] = COMPARED,
        *,
        heading: bool = True,
    ) -> None:
        if heading:
            self.heading(column, table.caption)
        cells = [w * column.width for w in widths]
        self.row(column, table.columns, cells, bold=True)
        self.rule(column.x, column.y, column.x + column.width, column.y, width=0.35, dark=True)
        if not table.rows:
            self.row(column, (table.empty,), [column.width])
        for row in table.rows:
            self.row(column, row, cells)
            y = column.y
            self.rule(column.x, y, column.x + column.width, y, width=0.1, dark=False)
        if table.total:
            self.row(column, table.total, cells, bold=True)
        if table.note:
            self.note(column, table.note)
        column.y += 4

    def row(
        self, column: _Column, values: tuple[str, ...], cells: list[float], *, bold: bool = False
    ) -> None:
        x = column.x
        for n, (value, width) in enumerate(zip(values, cells, strict=False)):
            # Figures align right, 1.2 mm clear of the cell before.
            inset = 0 if n == 0 else 1.2
            align = Align.L if n == 0 else Align.R
            self.text(
                x + inset, column.y, width - inset, value, SIZE, bold=bold, align=align, height=ROW
            )
            x += width
        column.y += ROW

    def chart(self, column: _Column, chart: Chart) -> None:
        self.heading(column, chart.title)
        pdf, axis, height = self.pdf, 7.0, CHART_HEIGHT  # axis: room for the scale's figures
        x0, y0 = column.x + axis, column.y + 1.5
        width = column.width - axis
        pdf.set_font(FAMILY, "", 6.5)
        for tick in chart.ticks:
            y = y0 + height - height * tick / chart.scale
            self.rule(x0, y, x0 + width, y, width=0.1, dark=False)
            pdf.set_xy(column.x, y - 1.5)
            pdf.cell(axis - 1, 3, str(tick), align=Align.R)
        step = width / max(len(chart.bars), 1)
        for n, bar in enumerate(chart.bars):
            bar_height = height * bar.height
            if bar_height > 0:
                pdf.set_fill_color(*(WEEKEND_BAR if bar.weekend else WEEKDAY_BAR))
                x = x0 + n * step + step * 0.15
                pdf.rect(x, y0 + height - bar_height, step * 0.7, bar_height, style="F")
            if bar.day.day == 1 or bar.day.day % 5 == 0:
                pdf.set_xy(x0 + n * step - 2, y0 + height + 0.5)
                pdf.cell(step + 4, 3, str(bar.day.day), align=Align.C)
        self.rule(x0, y0 + height, x0 + width, y0 + height, width=0.3, dark=True)
        column.y = y0 + height + 3.5
        self.note(column, f"{chart.description} {chart.legend}")
        column.y += 4

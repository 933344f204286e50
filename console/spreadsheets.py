"""An export's rows written as a file, CSV (the stdlib's csv) or XLSX
(openpyxl), as they are read: into a temporary file that goes to disk past
1 MB (openpyxl's write-only workbook keeps its sheet on disk too), so memory
does not grow with the rows; then answered as a download."""
from __future__ import annotations

import csv
import io
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import IO, Literal

from fastapi.responses import StreamingResponse
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell

from domain.census import CensusProblem

Format = Literal["csv", "xlsx"]
MEDIA = {"csv": "text/csv; charset=utf-8",
         "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
_SPILL = 1_000_000  # bytes kept in memory before the file goes to disk
_CHUNK = 64 * 1024


@dataclass
class Table:
    """An export's headings and its rows, read as they are written. Rows the
    census cannot take are collected in `problems`, never written silently."""

    name: str
    headings: list[str]
    rows: Iterable[Iterable]
    problems: list[CensusProblem] = field(default_factory=list)


# A cell a spreadsheet would run as a formula (CSV injection): kept as text.
_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def _cell(v) -> object:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "yes" if v else "no"
    return v


def write_csv(table: Table) -> tuple[IO[bytes], int]:
    out = tempfile.SpooledTemporaryFile(max_size=_SPILL)
    text = io.TextIOWrapper(out, encoding="utf-8", newline="")
    w = csv.writer(text)
    w.writerow(table.headings)
    n = 0
    for row in table.rows:
        cells = [_cell(v) for v in row]
        w.writerow([f"'{c}" if isinstance(c, str) and c.startswith(_FORMULA) else
                    (c.isoformat() if isinstance(c, date) else c) for c in cells])
        n += 1
    text.flush()
    text.detach()
    out.seek(0)
    return out, n


def write_xlsx(table: Table) -> tuple[IO[bytes], int]:
    wb = Workbook(write_only=True)  # rows go to a temporary file as they are added
    ws = wb.create_sheet(table.name)
    ws.append(table.headings)
    n = 0
    for row in table.rows:
        cells = []
        for v in row:
            c = WriteOnlyCell(ws, value=_cell(v))
            if isinstance(c.value, str):
                c.data_type = "s"  # text, never a formula, whatever it starts with
            elif isinstance(v, date):
                c.number_format = "yyyy-mm-dd"
            cells.append(c)
        ws.append(cells)
        n += 1
    out = tempfile.SpooledTemporaryFile(max_size=_SPILL)
    wb.save(out)
    out.seek(0)
    return out, n


WRITERS: dict[str, Callable[[Table], tuple[IO[bytes], int]]] = {"csv": write_csv, "xlsx": write_xlsx}


@dataclass(frozen=True)
class Exported:
    file: IO[bytes]
    rows: int
    filename: str
    media_type: str

    def response(self) -> StreamingResponse:
        def chunks() -> Iterator[bytes]:
            try:
                while block := self.file.read(_CHUNK):
                    yield block
            finally:
                self.file.close()

        return StreamingResponse(chunks(), media_type=self.media_type,
                                 headers={"Content-Disposition": f'attachment; filename="{self.filename}"'})

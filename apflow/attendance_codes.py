"""Reading the trust's register codes from `attendance/codes.toml`.

Parsing and checking are pure and live in `domain.attendance`; this module
only reads the file it is given (`Settings.attendance_codes`; set
APFLOW_ATTENDANCE_CODES to use another) and names it in any error.
"""
from __future__ import annotations

import tomllib
from pathlib import Path

from domain.attendance import CodeBook, CodeError, codes_from_dict

SETTING = "APFLOW_ATTENDANCE_CODES"  # named in errors: where the file is set


class CodesFileError(CodeError):
    def __init__(self, path: Path, message: str, field: str = "") -> None:
        ValueError.__init__(self, f"{path}: {field}: {message}" if field else f"{path}: {message}")
        self.path = path
        self.message = message
        self.field = field


def load_codes(path: Path) -> CodeBook:
    """The code book from the trust's file; `CodesFileError` names file and field."""
    where = Path(path)
    try:
        data = tomllib.loads(where.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CodesFileError(where, f"no register codes file (set {SETTING})") from None
    except tomllib.TOMLDecodeError as e:
        raise CodesFileError(where, f"not valid TOML: {e}") from e
    try:
        return codes_from_dict(data)
    except CodeError as e:
        raise CodesFileError(where, e.message, e.field) from e

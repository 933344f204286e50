"""Reading the trust's register codes from `attendance/codes.toml`.

Parsing and checking are pure and live in `domain.attendance`; this module
only finds and reads the file and names it in any error. Set
$APFLOW_ATTENDANCE_CODES to use another file.
"""
from __future__ import annotations

import os
import tomllib
from pathlib import Path

from domain.attendance import CodeBook, CodeError, codes_from_dict

ENV_VAR = "APFLOW_ATTENDANCE_CODES"
DEFAULT_FILE = Path(__file__).resolve().parent.parent / "attendance" / "codes.toml"


class CodesFileError(CodeError):
    def __init__(self, path: Path, message: str, field: str = "") -> None:
        ValueError.__init__(self, f"{path}: {field}: {message}" if field else f"{path}: {message}")
        self.path = path
        self.message = message
        self.field = field


def codes_path(path: Path | None = None) -> Path:
    if path is not None:
        return Path(path)
    configured = os.environ.get(ENV_VAR)
    return Path(configured) if configured else DEFAULT_FILE


def load_codes(path: Path | None = None) -> CodeBook:
    """The code book from the trust's file; `CodesFileError` names file and field."""
    where = codes_path(path)
    try:
        data = tomllib.loads(where.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CodesFileError(where, f"no register codes file (set {ENV_VAR})") from None
    except tomllib.TOMLDecodeError as e:
        raise CodesFileError(where, f"not valid TOML: {e}") from e
    try:
        return codes_from_dict(data)
    except CodeError as e:
        raise CodesFileError(where, e.message, e.field) from e

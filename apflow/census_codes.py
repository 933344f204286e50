"""Reading the trust's census codes from `census/codes.toml`.

Parsing and checking are pure and live in `domain.census`; this module only
reads the file it is given (`Settings.census_codes`; set APFLOW_CENSUS_CODES
to use another) and names it in any error.
"""
from __future__ import annotations

import tomllib
from pathlib import Path

from domain.census import CensusCodeError, CensusCodes, codes_from_dict

SETTING = "APFLOW_CENSUS_CODES"  # named in errors: where the file is set


class CensusCodesFileError(CensusCodeError):
    def __init__(self, path: Path, message: str) -> None:
        ValueError.__init__(self, f"{path}: {message}")
        self.path = path
        self.message = message
        self.field = ""


def load_census_codes(path: Path) -> CensusCodes:
    """The census codes from the trust's file; the error names file and field."""
    where = Path(path)
    try:
        data = tomllib.loads(where.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CensusCodesFileError(where, f"no census codes file (set {SETTING})") from None
    except tomllib.TOMLDecodeError as e:
        raise CensusCodesFileError(where, f"not valid TOML: {e}") from e
    try:
        return codes_from_dict(data)
    except CensusCodeError as e:
        raise CensusCodesFileError(where, str(e)) from e


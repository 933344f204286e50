"""Reading the trust's directory file: each school's address and the staff
who sign and receive letters, and each local authority's addresses.

The file is the caller's (`Settings.directory_file`: ``directory/directory.toml``
in the repository unless APFLOW_DIRECTORY_FILE names another); its format is
described at its top.
A school or LA missing from the file is not an error here: the letter that
needs the missing detail is refused, naming it, when its step is taken.
"""
from __future__ import annotations

import tomllib
from functools import lru_cache
from pathlib import Path

from pydantic import ValidationError

from domain.directory import LocalAuthorityContacts, SchoolContacts
from domain.models import Model, School, problems

SETTING = "APFLOW_DIRECTORY_FILE"  # named in errors: where the file is set


class DirectoryFileError(ValueError):
    """The directory file cannot be used; the message names the file."""


class _School(SchoolContacts):
    name: str | None = None  # for whoever edits the file; the placement holds the school's name


class _Directory(Model):
    schools: dict[str, _School] = {}
    local_authorities: dict[str, LocalAuthorityContacts] = {}


def _read(path: Path) -> _Directory:
    if not path.is_file():
        # A wrong setting must not quietly send every letter without a signature.
        raise FileNotFoundError(f"directory file {path} does not exist (set {SETTING})")
    try:
        return _Directory.model_validate(tomllib.loads(path.read_text(encoding="utf-8")))
    except tomllib.TOMLDecodeError as exc:
        raise DirectoryFileError(f"{path}: not valid TOML: {exc}") from exc
    except ValidationError as exc:
        raise DirectoryFileError(f"{path}: {'; '.join(problems(exc.errors()))}") from exc


def school_contacts(school: School, path: Path) -> SchoolContacts:
    """The school's entry in the directory file at `path`, with its local
    authority's, as a placement carries it."""
    directory = _read(Path(path))
    entry = directory.schools.get(school.school_id)
    data = entry.model_dump(exclude={"name"}) if entry else {}
    data["la"] = directory.local_authorities.get(school.local_authority)
    return SchoolContacts.model_validate(data)


def school_names(path: Path) -> dict[str, str]:
    """Each school's name by its id, as the directory's `name` gives it: how
    a list of many schools' placements names them. Read again only once the
    file changes; none while it cannot be read (the letters say why)."""
    try:
        stat = Path(path).stat()
        return _names(Path(path), stat.st_mtime_ns, stat.st_size)
    except (OSError, DirectoryFileError):
        return {}


@lru_cache(maxsize=8)
def _names(path: Path, _mtime_ns: int, _size: int) -> dict[str, str]:
    return {school_id: entry.name for school_id, entry in _read(path).schools.items() if entry.name}

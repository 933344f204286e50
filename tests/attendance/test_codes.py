"""Register codes are data: read from the trust's file, kept in a table,
and each one's rules used when a mark is recorded."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from apflow.attendance_codes import CodesFileError, load_codes
from apflow.settings import Settings
from domain.attendance import CodeError, CountsAs, Fit, codes_from_dict
from store import attendance

from .conftest import CODES


def test_the_trusts_file_holds_the_codes_the_rules_name():
    book = load_codes(Settings().attendance_codes)
    for code in ("B", "K", "D", "C2", "C", "C1", "E", "G", "I", "M", "J1", "S", "T", "U", "O", "N"):
        assert book.get(code) is not None, code
    assert book.get("B").needs_provider_mark and book.get("B").counts_as is CountsAs.present
    assert Fit.registered_school_provider in book.get("D").fits
    assert Fit.part_time_pattern in book.get("C2").fits
    assert not book.get("N").explained and not book.get("O").explained
    assert book.get("I").explained and book.get("I").is_absence


def test_a_code_added_or_changed_in_the_file_is_used(tmp_path, monkeypatch):
    path = tmp_path / "codes.toml"
    path.write_text('[codes.b]\nmeaning = "Off-site"\ncounts_as = "present"\n\n[codes.Z9]\nmeaning = "New in some future regulations"\ncounts_as = "unauthorised_absence"\nexplained = false\n')
    monkeypatch.setenv("APFLOW_ATTENDANCE_CODES", str(path))
    book = load_codes(Settings().attendance_codes)
    assert set(book.codes) == {"B", "Z9"}
    assert not book.get("B").needs_provider_mark
    assert book.get("Z9").is_absence and not book.get("Z9").explained


@pytest.mark.parametrize("data, field", [
    ({"codes": {"B": {"counts_as": "present"}}}, "codes.B"),
    ({"codes": {"B": {"meaning": "x", "counts_as": "here"}}}, "codes.B.counts_as"),
    ({"codes": {"B": {"meaning": "x", "counts_as": "present", "fits": ["registered"]}}}, "codes.B.fits[0]"),
    ({"codes": {"B": {"meaning": "x", "counts_as": "present", "explained": False}}}, "codes.B.explained"),
    ({"codes": {"B": {"meaning": "x", "counts_as": "present", "colour": "red"}}}, "codes.B"),
    ({"codes": {"B": {"meaning": "x", "counts_as": "present", "retired": "soon"}}}, "codes.B.retired"),
    ({"codes": {}}, "codes"),
])
def test_a_wrong_codes_file_names_the_field(data, field):
    with pytest.raises(CodeError) as e:
        codes_from_dict(data)
    assert e.value.field == field


def test_a_broken_file_is_named(tmp_path):
    path = tmp_path / "codes.toml"
    path.write_text("[codes.B\n")
    with pytest.raises(CodesFileError) as e:
        load_codes(path)
    assert str(path) in str(e.value)


def test_the_codes_table_follows_the_file_and_keeps_retired_codes(engine):
    attendance.sync_codes(engine, CODES)
    attendance.sync_codes(engine, CODES)  # twice: the same table
    with engine.connect() as conn:
        rows = {r.code: r for r in conn.execute(select(attendance.AttendanceCodeRow))}
    assert set(rows) == set(CODES.codes)
    assert rows["D"].fits == ["registered_school_provider"] and not rows["D"].retired

    fewer = codes_from_dict({"codes": {c.code: {"meaning": c.meaning, "counts_as": c.counts_as.value}
                                       for c in CODES if c.code != "O"}})
    attendance.sync_codes(engine, fewer)
    with engine.connect() as conn:
        rows = {r.code: r for r in conn.execute(select(attendance.AttendanceCodeRow))}
    assert rows["O"].retired and not rows["N"].retired

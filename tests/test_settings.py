"""One `Settings` object reads the environment; the API, the worker and the
activities use what they are handed, and the trust's files are read from
the paths it names."""
from __future__ import annotations

import re
import shutil
from pathlib import Path

import httpx

from apflow.settings import Settings
from console.api import create_app
from documents import DeliverySettings
from worker import build_worker
from tests.proxy import as_staff

ROOT = Path(__file__).resolve().parent.parent
OPS = as_staff("ops-1", "trust_operations")

# Where the project's code may still read the environment itself: the settings
# (through pydantic-settings) and the test-only crash hook of the letters.
ALLOWED = {"apflow/settings.py", "activities/documents.py"}
READS_ENVIRONMENT = re.compile(r"os\.environ|getenv|environ\.get")


def test_only_the_settings_read_the_environment():
    readers = {
        str(path.relative_to(ROOT))
        for path in ROOT.rglob("*.py")
        if not {".venv", "tests", "var"} & set(path.relative_to(ROOT).parts)
        and READS_ENVIRONMENT.search(path.read_text(encoding="utf-8"))
    }
    assert readers <= ALLOWED, readers - ALLOWED
    hook = (ROOT / "activities/documents.py").read_text(encoding="utf-8")
    assert len(READS_ENVIRONMENT.findall(hook)) == 1 and "EXIT_AFTER_SEND_FOR_TESTS" in hook


def test_the_documented_variables_fill_the_settings(monkeypatch, tmp_path):
    for name, value in {
        "APFLOW_VAR_DIR": tmp_path / "var",
        "APFLOW_CALENDARS_DIR": tmp_path / "calendars",
        "APFLOW_DIRECTORY_FILE": tmp_path / "directory.toml",
        "APFLOW_ATTENDANCE_CODES": tmp_path / "codes.toml",
        "APFLOW_TEMPLATES_DIR": tmp_path / "templates",
        "APFLOW_MAIL_MODE": "smtp",
        "APFLOW_MAIL_SMTP_HOST": "relay.example",
        "APFLOW_MAIL_SMTP_PORT": "2525",
        "APFLOW_MAIL_SMTP_PASSWORD": "s3cret",
        "APFLOW_MAIL_FROM_ADDRESS": "letters@trust.example",
    }.items():
        monkeypatch.setenv(name, str(value))
    s = Settings()
    assert (s.calendars_dir, s.directory_file, s.attendance_codes, s.templates_dir) == (
        tmp_path / "calendars", tmp_path / "directory.toml", tmp_path / "codes.toml", tmp_path / "templates",
    )
    mail = s.mail
    assert (mail.mode, mail.smtp_host, mail.smtp_port, mail.from_address) == ("smtp", "relay.example", 2525, "letters@trust.example")
    assert mail.smtp_password.get_secret_value() == "s3cret" and "s3cret" not in repr(s)
    assert mail.outbox_dir == tmp_path / "var" / "outbox"  # under the var folder unless set
    monkeypatch.setenv("APFLOW_MAIL_OUTBOX_DIR", str(tmp_path / "elsewhere"))
    assert Settings().mail.outbox_dir == tmp_path / "elsewhere"
    # Given explicitly, the mail settings win over the environment.
    assert Settings(mail=DeliverySettings(outbox_dir=tmp_path / "mine")).mail.mode == "outbox"


def _trust_files(tmp_path: Path, monkeypatch) -> Settings:
    """Settings naming the trust's files in a folder of the test's own, while
    the environment names folders and files that do not exist."""
    repo = Settings()
    shutil.copytree(repo.calendars_dir, tmp_path / "calendars")
    (tmp_path / "directory.toml").write_text(repo.directory_file.read_text())
    (tmp_path / "codes.toml").write_text('[codes.Z9]\nmeaning = "The trust\'s own"\ncounts_as = "present"\n')
    for name in ("APFLOW_CALENDARS_DIR", "APFLOW_DIRECTORY_FILE", "APFLOW_ATTENDANCE_CODES", "APFLOW_TEMPLATES_DIR"):
        monkeypatch.setenv(name, str(tmp_path / "not-here"))
    monkeypatch.setenv("APFLOW_MAIL_MODE", "smtp")
    return Settings(
        var_dir=tmp_path / "var", calendars_dir=tmp_path / "calendars", directory_file=tmp_path / "directory.toml",
        attendance_codes=tmp_path / "codes.toml", templates_dir=None, mail=DeliverySettings(outbox_dir=tmp_path / "outbox"),
    )


async def test_the_api_reads_the_files_its_settings_name(engine, tmp_path, monkeypatch):
    settings = _trust_files(tmp_path, monkeypatch)
    app = create_app(settings, client=object(), engine=engine)
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://apflow.test") as http:
            codes = await http.get("/api/attendance/codes", headers=OPS)
            reload = await http.post("/api/schools/137000/calendar/reload", headers=OPS)
    assert codes.status_code == 200 and [c["code"] for c in codes.json()] == ["Z9"]
    assert reload.status_code == 200 and reload.json()["placements_told"] == 0  # the calendar folder was found
    assert app.state.settings is settings


async def test_the_worker_uses_the_settings_it_is_given(dev_env, engine, task_queue, tmp_path, monkeypatch):
    settings = _trust_files(tmp_path, monkeypatch)
    (tmp_path / "calendars" / "137000.toml").unlink()  # the school's calendar is the trust default
    activities = build_worker(dev_env.client, task_queue, engine, settings=settings).config()["activities"]
    sweep = next(a.__self__ for a in activities if a.__name__ == "sweep_attendance")
    documents = next(a.__self__ for a in activities if a.__name__ == "send_document")
    # Read from the settings' folder (the environment names none): the trust default.
    assert sweep._calendar_for("137000").half_terms == sweep._calendar_for("999999").half_terms
    assert documents._delivery == settings.mail and documents._delivery.mode == "outbox"


def test_letters_off_gives_a_new_placement_no_directory_entry_to_send_from(monkeypatch):
    from apflow import samples

    assert Settings().letters_from(samples.SCHOOL).address  # the repository's directory has the sample school
    monkeypatch.setenv("APFLOW_LETTERS", "false")
    assert Settings().letters_from(samples.SCHOOL) is None


def test_the_schools_names_come_from_the_directory_as_it_now_is_and_none_from_one_that_cannot_be_read(tmp_path):
    import os

    from apflow.directory import school_names

    path = tmp_path / "directory.toml"
    assert school_names(path) == {}  # no file: lists name schools by their ids
    path.write_text('[schools."137000"]\nname = "Nexus Valley Academy"\n[schools."137001"]\naddress = "Hill Top Lane"\n')
    assert school_names(path) == {"137000": "Nexus Valley Academy"}
    path.write_text('[schools."137000"]\nname = "Nexus Valley Academy (renamed)"\n')
    os.utime(path, ns=(0, path.stat().st_mtime_ns + 1_000_000_000))  # a later edit, even within the clock's tick
    assert school_names(path) == {"137000": "Nexus Valley Academy (renamed)"}
    path.write_text("[schools.\n")
    assert school_names(path) == {}


def test_settings_and_a_directory_that_cannot_be_used_name_the_field_that_is_wrong(monkeypatch, tmp_path):
    import pytest

    from apflow.cli import main
    from apflow.directory import DirectoryFileError, _read

    monkeypatch.setenv("APFLOW_API_PORT", "eighty")
    with pytest.raises(SystemExit) as refused:
        main(["up"])
    assert str(refused.value).startswith("apflow's settings are not valid:\n  - api_port: Input should be a valid integer")

    path = tmp_path / "directory.toml"
    path.write_text('[schools."137000"]\nname = "Nexus Valley Academy"\nhead_of_school = 7\nphone = 1\n')
    with pytest.raises(DirectoryFileError) as unusable:
        _read(path)
    assert str(unusable.value) == (f"{path}: schools.137000.phone: Input should be a valid string; "
                                   "schools.137000.head_of_school: Extra inputs are not permitted")

"""The image installs from deploy/requirements.lock alone (`--no-deps` for
apflow itself): every runtime dependency pyproject.toml names must be pinned
there, or the image starts without it."""
from __future__ import annotations

import re
import tomllib
from pathlib import Path

from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[2]


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def test_every_runtime_dependency_is_pinned_in_the_lock():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = {_canonical(Requirement(r).name) for r in project["dependencies"] + project["optional-dependencies"]["postgres"]}
    pinned = {_canonical(m[1]) for m in re.finditer(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==", (ROOT / "deploy/requirements.lock").read_text(), re.M)}
    assert wanted - pinned == set(), "regenerate deploy/requirements.lock (its first lines say how)"

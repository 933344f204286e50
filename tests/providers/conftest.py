"""The API's stack (tests/api/conftest.py): uvicorn, the Temporal dev server,
a worker and a SQLite register of its own, one for each module."""
from tests.api.conftest import api_stack, http  # noqa: F401

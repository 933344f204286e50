"""The evaluations' tests run on the stacks the API's and the console's
tests use: the real Temporal dev server, a worker, a SQLite register, and
Chromium for the pages."""
from tests.api.conftest import api_stack, http  # noqa: F401
from tests.console.conftest import browser, console, identity_provider  # noqa: F401

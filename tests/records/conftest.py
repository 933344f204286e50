"""The records' tests run on the console's stack (tests/console/conftest.py):
the Temporal dev server, a worker, a SQLite register, the app over HTTP and
Chromium; and on the API's (tests/api/conftest.py) for the JSON tests."""
from tests.api.conftest import api_stack  # noqa: F401
from tests.console.conftest import browser, console, http, identity_provider  # noqa: F401
from tests.store.conftest import postgres_url  # noqa: F401,E402

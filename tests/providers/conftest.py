"""The stacks the providers' tests run on: the API's (tests/api/conftest.py),
the console's in a real browser (tests/console/conftest.py) and the
register's PostgreSQL beside SQLite (tests/store/conftest.py)."""
from tests.api.conftest import api_stack, http  # noqa: F401
from tests.console.conftest import browser, console, identity_provider  # noqa: F401
from tests.store.conftest import postgres_url  # noqa: F401

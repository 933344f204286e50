"""The calendar feed's tests run on the API's stack (real HTTP, the Temporal
dev server, a worker and a SQLite register) and, in the browser, on the console's."""
from tests.api.conftest import api_stack, http  # noqa: F401
from tests.console.conftest import browser, console, identity_provider  # noqa: F401

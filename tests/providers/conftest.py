"""The stacks the providers' tests run on: the API's (tests/api/conftest.py)
and the console's in a real browser (tests/console/conftest.py), one each a module."""
from tests.api.conftest import api_stack, http  # noqa: F401
from tests.console.conftest import browser, console, identity_provider  # noqa: F401

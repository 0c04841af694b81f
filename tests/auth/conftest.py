import pytest

from authlib import AuthServer


@pytest.fixture(scope="module")
def srv():
    """One auth server per module: its accounts and grants are made by the tests, each with
    names of its own."""
    with AuthServer() as s:
        yield s

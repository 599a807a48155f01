"""Research tests use the research world from tests/conftest.py."""

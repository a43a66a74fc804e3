"""Shared paths: the repository's fixture files (tests/fixtures, copied from ../shared/fixtures)."""

import pathlib

import pytest

FIXTURES = pathlib.Path(__file__).resolve().parents[3] / "tests" / "fixtures"


@pytest.fixture
def fixtures() -> pathlib.Path:
    return FIXTURES

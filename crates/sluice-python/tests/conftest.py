"""Shared fixtures: a SparkContext per test, on a manual streaming clock."""

import pytest

from sluice import SparkConf, SparkContext
from sluice.testing import manual_clock_conf


@pytest.fixture
def sc():
    ctx = SparkContext("local[2]", "test", conf=SparkConf())
    yield ctx
    ctx.stop()


@pytest.fixture
def msc():
    """A SparkContext whose streaming contexts run on a manual clock."""
    ctx = SparkContext("local[2]", "test", conf=manual_clock_conf())
    yield ctx
    ctx.stop()

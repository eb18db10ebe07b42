"""The ``>>>`` examples in docstrings run (docs that no test checks drift)."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "envs",
    "envs.steel",
    "envs.steel.env",
    "envs.core.sensors",
    "envs.core.actions",
    "agents.policy",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0, f"{name} has no examples to run"
    assert result.failed == 0

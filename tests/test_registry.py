"""The generic registry and the shared parameter checks: one wording for every name -> object choice."""

from __future__ import annotations

import pytest

from alsim._registry import Registry
from alsim._validation import check_choice, check_int, check_real
from alsim.exceptions import InvalidParameterError
from alsim.strategies import make_strategy


def test_registry_lists_refuses_taken_names_and_suggests_close_ones():
    registry: Registry[object] = Registry("colour", "colour")
    registry.register("red", dict)
    registry.register("green", list)
    assert registry.names() == ["green", "red"] and "red" in registry and len(registry) == 2
    assert registry.get("red", "paint") is dict
    with pytest.raises(InvalidParameterError, match=r"A colour named 'red' is already registered \(dict\)"):
        registry.register("red", set)
    registry.register("red", set, overwrite=True)
    assert registry.registered("red") is set and registry.registered("blue") is None
    with pytest.raises(InvalidParameterError) as info:
        registry.get("gren", "paint")
    assert str(info.value) == (
        "The 'colour' parameter of paint must be one of ['green', 'red']. Got 'gren' instead. Did you mean 'green'?"
    )
    with pytest.raises(InvalidParameterError, match=r"Got 3 instead\.$"):
        registry.get(3, "paint")


def test_strategy_names_get_a_did_you_mean():
    with pytest.raises(InvalidParameterError, match=r"Got 'margn' instead\. Did you mean 'margin'"):
        make_strategy("margn")


def test_checks_read_the_same():
    with pytest.raises(InvalidParameterError, match=r"^The 'k' parameter of F must be an int >= 1\. Got 0 instead\.$"):
        check_int(0, "k", "F", low=1)
    with pytest.raises(InvalidParameterError, match=r"must be an int in \[0, 9\]\. Got True instead"):
        check_int(True, "k", "F", low=0, high=9)
    assert check_int(None, "k", "F", low=1, allow_none=True) is None
    with pytest.raises(InvalidParameterError, match=r"must be an int >= 1 or None\. Got 1\.5 instead"):
        check_int(1.5, "k", "F", low=1, allow_none=True)
    with pytest.raises(InvalidParameterError, match=r"must be a float in \(0, 1\]\. Got 0 instead"):
        check_real(0, "p", "F", low=0, high=1, low_open=True)
    with pytest.raises(InvalidParameterError, match=r"must be a float in \[0, inf\)\. Got nan instead"):
        check_real(float("nan"), "p", "F", low=0)
    assert check_real(1, "p", "F", low=0, high=1) == 1.0
    with pytest.raises(InvalidParameterError, match=r"must be one of \['a', 'b'\]\. Got 'c' instead"):
        check_choice("c", "x", "F", ("a", "b"))

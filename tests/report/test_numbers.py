"""The one rounding rule of every printed estimate (agglomeration.report.numbers)."""

from __future__ import annotations

import math

import pytest

from agglomeration.report.numbers import decimals_for, format_estimate, format_number, format_p


@pytest.mark.parametrize(
    ("value", "decimals", "expected"),
    [
        (9 / 6 - 1.1e-13, 0, "2"),  # floating-point noise of an exact 1.5 (a factorial interaction)
        (0.4999999999998, 0, "1"),  # half away from zero, as a reader rounds the exact 0.5
        (-0.4999999999998, 0, "-1"),
        (0.125, 2, "0.13"),  # an exact tie: away from zero (formatting the float breaks it to even)
        (2.675, 2, "2.68"),  # the decimal value is rounded (the float lies just below 2.675)
        (1.4994, 0, "1"),  # a value that is not a tie keeps its rounding
        (1234567.5, 0, "1,234,568"),
        (-3.6e-15, 1, "0.0"),  # noise of an exact zero: no sign
        (2.0, 3, "2.000"),
    ],
)
def test_values_round_half_away_from_zero_after_floating_point_noise(value, decimals, expected):
    assert format_number(value, decimals) == expected


def test_signs_thousands_and_missing_values():
    assert format_number(1500.0, 0, sign=True) == "+1,500"
    assert format_number(-0.004, 2, sign=True) == "0.00"
    assert format_number(float("nan")) == "NA" and format_number(None) == "NA"  # type: ignore[arg-type]
    assert format_number(math.inf) == "NA"
    assert format_number(3e-9) == "3e-09"  # below the most decimals ever printed
    assert format_number(2.5e15) == "2.5e+15"


def test_an_estimate_and_its_interval_share_the_decimals_of_the_half_width():
    assert decimals_for(0.12, 0.022) == 3
    assert format_estimate(0.12, 0.098, 0.142) == "0.120 [0.098, 0.142]"
    assert format_estimate(1347.0, 1280.0, 1414.0) == "1,347 [1,280, 1,414]"
    assert format_estimate(9 / 6 - 1.1e-13, -10.4, 13.4, sign=True) == "+2 [-10, 13]"
    assert format_estimate(1.0, float("nan"), 2.0) == "1.00"


def test_p_values():
    assert format_p(0.0004) == "<0.001" and format_p(0.0123) == "0.012" and format_p(None) == "NA"

# Copyright (c) mmwsss contributors. All rights reserved.
"""Checks of model settings, run when a model is built.

A value that is only used deep in a job (at the first image, or in a worker)
would otherwise fail after hours, or not at all and give wrong outputs (a
negative power turns CAMs into NaN).
"""
import numbers


def check_positive(owner: str, **values) -> None:
    """Raise unless every value is a number > 0 (NaN is refused)."""
    for name, value in values.items():
        if not isinstance(value, numbers.Real) or not value > 0:
            raise ValueError(f'{owner}: {name} must be > 0, got {value!r}')


def check_fraction(owner: str, **values) -> None:
    """Raise unless every value is a number in [0, 1]."""
    for name, value in values.items():
        if not isinstance(value, numbers.Real) or not 0 <= value <= 1:
            raise ValueError(
                f'{owner}: {name} must lie in [0, 1], got {value!r}')


def check_int_at_least(owner: str, minimum: int, **values) -> None:
    """Raise unless every value is an integer >= ``minimum``."""
    for name, value in values.items():
        if (not isinstance(value, numbers.Integral)
                or isinstance(value, bool) or value < minimum):
            raise ValueError(f'{owner}: {name} must be an integer >= '
                             f'{minimum}, got {value!r}')

"""Exceptions raised by pceval.

Every error pceval raises on purpose is a :class:`PcevalError`, so a notebook can catch
them all with one ``except``. The subclasses say what kind of thing went wrong:

* :class:`InputError` -- bad data or arguments (a missing column, a value out of range,
  an unknown scenario). Also a :class:`ValueError`, so code written against the
  standard library's conventions keeps working.
* :class:`EstimationError` -- a model that cannot be fitted (perfect separation, no
  overlap, a singular design).
* :class:`DisclosureError` -- an output would publish unprotected small counts.
"""

from __future__ import annotations


class PcevalError(Exception):
    """Base class of every error pceval raises deliberately."""


class InputError(PcevalError, ValueError):
    """Bad data or arguments; the message names the argument or column and what was wrong."""


class EstimationError(PcevalError, RuntimeError):
    """A model could not be fitted or its result is not usable."""


class DisclosureError(PcevalError):
    """An output would reveal small counts that disclosure control must protect."""


class PcevalWarning(UserWarning):
    """Warnings pceval gives about data or estimates (e.g. exclusions, poor balance)."""


__all__ = [
    "PcevalError",
    "InputError",
    "EstimationError",
    "DisclosureError",
    "PcevalWarning",
]

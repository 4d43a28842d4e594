"""pceval: evaluate personalised-care interventions in the NHS.

Did it work, for whom, and did it narrow the gap between the most and least deprived?
See ``docs/architecture.md`` for the modules and how data flows between them.
"""

from __future__ import annotations

from pceval import errors, validation
from pceval.errors import DisclosureError, EstimationError, InputError, PcevalError

__version__ = "0.1.0"

__all__ = [
    "errors",
    "validation",
    "PcevalError",
    "InputError",
    "EstimationError",
    "DisclosureError",
    "__version__",
]

"""Where the reference data live: tests/reference/{did,matchit,phe} (provenance and licences in
tests/reference/README.md). The files ship with the repository, so a missing file is a failure,
never a skip."""

from __future__ import annotations

from pathlib import Path

REFERENCE = Path(__file__).resolve().parent / "reference"
DID = REFERENCE / "did"
MATCHIT = REFERENCE / "matchit"
PHE = REFERENCE / "phe"

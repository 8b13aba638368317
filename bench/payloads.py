"""Realistic bodies: dossier.submitted.v1 data as intake publishes it (its registered example), one per dossier code."""
from __future__ import annotations

import copy

from intake.events import DOSSIER_SUBMITTED_EXAMPLE


def dossier_code(n: int) -> str:
    """Codes in the national shape (agency-YYMMDD-serial), unique per bench run through `n`."""
    return f"000.00.06.H56-261124-{n:06d}"


def dossier_submitted(n: int) -> dict:
    data = copy.deepcopy(DOSSIER_SUBMITTED_EXAMPLE)
    data["code"] = dossier_code(n)
    return data

"""French number formatting: narrow no-break space between thousands, decimal comma.

Used by every text a user reads in French: sheets, maps, notes and warnings.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["formater_nombre"]


def _espace(s: str) -> str:
    return s.replace(",", "\u202f").replace(".", ",")


def formater_nombre(v: float, decimales: int = 1) -> str:
    """French formatting: thin space thousands separator, decimal comma.

    Examples
    --------
    >>> formater_nombre(11860.0, 0)
    '11\u202f860'
    >>> formater_nombre(-3.14159, 1)
    '−3,1'
    >>> formater_nombre(float("nan"))
    '—'
    """
    if v is None or (isinstance(v, float) and math.isnan(v)) or not np.isfinite(v):
        return "—"
    s = _espace(f"{abs(float(v)):,.{decimales}f}")
    return ("−" + s) if float(v) < 0 and s.strip("0,\u202f") else s

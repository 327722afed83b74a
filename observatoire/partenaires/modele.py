"""Declaration of a partner's table in a territory configuration (``partenaires:``).

The models are those of :mod:`observatoire.config`, which owns every key of the
configuration file (see :class:`~observatoire.config.TablePartenaire` for the keys
and an example); the partners' modules import them from here.
"""

from __future__ import annotations

from observatoire.config import (
    CLES_PARTENAIRES,
    DenominateurPartenaire,
    SexePartenaire,
    TablePartenaire,
)

__all__ = ["CLES", "SexePartenaire", "DenominateurPartenaire", "TablePartenaire"]

#: Keys that place a row: address, coordinates or a code.
CLES = CLES_PARTENAIRES

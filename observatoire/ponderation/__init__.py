"""Weights engine: IRIS × zone intersection, weights, apportionment, quality."""

from observatoire.ponderation.ventilation import ventiler

__all__ = ["ventiler"]

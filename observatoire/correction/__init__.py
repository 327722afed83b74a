r"""Correction of the dilution of IRIS-weighted rates in zones that cut IRIS.

A QPV covers a few dozen hectares inside IRIS of about 2,000 inhabitants: a rate
consolidated from IRIS rates mixes the QPV with the rest of its IRIS and shrinks
its gap to the commune. Where a QPV has an official value and an IRIS-based
estimate, the relation is learned (statsmodels OLS) and applied to zones with no
official value. Candidate forms, with :math:`y` the official value, :math:`e` the
estimate and :math:`c` the commune value:

==========================  ====================================================
``dilution``                :math:`y - c = k\,(e - c)`
``dilution_constante``      :math:`y - c = a + k\,(e - c)`
``lineaire``                :math:`y = a + b\,e + g\,c`
==========================  ====================================================

Each is validated by leave-one-commune-out cross-validation (zones of one commune
are never in the training and the test fold together); the form with the lowest
out-of-sample median absolute error is kept, and applied only where it lowers
both the mean and the median absolute error out of sample.
"""

from observatoire.correction.application import corriger, zones_iris_coupes
from observatoire.correction.entrainement import (
    FICHIERS,
    donnees_entrainement,
    indicateurs_candidats,
)
from observatoire.correction.modeles import (
    ALPHA,
    COLONNES_RAPPORT,
    FORMES,
    ModeleCorrection,
    ModeleIndicateur,
    ajuster,
    plis_par_commune,
    valider,
)

__all__ = [
    "FORMES",
    "FICHIERS",
    "COLONNES_RAPPORT",
    "ALPHA",
    "indicateurs_candidats",
    "donnees_entrainement",
    "plis_par_commune",
    "valider",
    "ModeleIndicateur",
    "ModeleCorrection",
    "ajuster",
    "zones_iris_coupes",
    "corriger",
]

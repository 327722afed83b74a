r"""Indicators of a fine grid (INSEE Filosofi 200 m) aggregated on zones and territories.

Each codebook entry with a ``grille`` spec is the ratio of two sums over the cells,
each cell counted for the share of its area inside the territory:

.. math:: v_z = f \, \frac{\sum_c s_{zc} N_c}{\sum_c s_{zc} D_c},
   \qquad s_{zc} = \frac{|c \cap z|}{|c|}

(never an average of cell ratios). Rules of the producer and of the observatory:

- an aggregate of fewer than :data:`SEUIL_MENAGES` households is not published
  (INSEE's rule for its grids): every grid indicator of that territory is
  ``secret``;
- the share of the territory's households living in imputed cells (values the
  producer imputed from a coarser level) is kept in ``part_imputee``; from 20 % the
  value's reliability is only ``moyenne``;
- INSEE grids list inhabited cells only, so their coverage of a territory cannot be
  read from the cells: the caller names the communes a grid covers, and territories
  beyond them (département, France) get no grid value — never one computed from a
  partial cover.

Grid households and individuals are *fiscal* ones (Filosofi), not census ones:
grid indicators are indicators of their own (``fil_*`` ids).
"""

from __future__ import annotations

from collections.abc import Mapping

import geopandas as gpd
import numpy as np
import pandas as pd

from observatoire.indicateurs.codebook import Codebook, charger_codebook
from observatoire.indicateurs.consolidation import _normaliser, table_vide
from observatoire.ponderation.carroyage import sommes_grille

__all__ = ["SEUIL_MENAGES", "METHODE_GRILLE", "indicateurs_grille"]

#: Aggregates of fewer households are not published (INSEE rule for grid data).
SEUIL_MENAGES = 11
#: Method of every grid value (starts with ``grille``: rank 2 of the value of record).
METHODE_GRILLE = "grille(part de surface des carreaux)"


def indicateurs_grille(
    grille: gpd.GeoDataFrame,
    territoires: Mapping[str, gpd.GeoDataFrame],
    *,
    annee: int,
    codebook: Codebook | None = None,
    noms: Mapping[str, Mapping[str, str]] | None = None,
    source: str = "INSEE Filosofi, données carroyées à 200 m",
    seuil_menages: float = SEUIL_MENAGES,
) -> pd.DataFrame:
    """Grid indicators of every territory, as rows of the long indicator table.

    Parameters
    ----------
    grille : GeoDataFrame
        :func:`observatoire.chargement.lire_grille` (``population``, ``menages`` and
        the producer's columns, ``imputed``).
    territoires : mapping
        Level → GeoDataFrame (``code``, geometry) of the territories the grid covers.
    annee : int
        Vintage of the grid.
    codebook : Codebook, optional
        Entries with a ``grille`` spec whose columns the grid has.
    noms : mapping, optional
        Level → {code: name}.
    source : str
    seuil_menages : float
        See :data:`SEUIL_MENAGES`.

    Returns
    -------
    DataFrame
        Long rows (``statut`` ``estime``, or ``secret`` under the household threshold;
        ``methode`` :data:`METHODE_GRILLE`; ``origine`` ``grille``) with ``part_imputee``.
    """
    codebook = codebook or charger_codebook()
    specs = [
        i
        for i in codebook
        if i.grille is not None
        and i.grille.numerateur in grille.columns
        and (i.grille.denominateur is None or i.grille.denominateur in grille.columns)
    ]
    if not specs or "menages" not in grille.columns:
        return table_vide()
    colonnes = sorted(
        {c for i in specs for c in (i.grille.numerateur, i.grille.denominateur) if c} | {"menages"}
    )
    morceaux = []
    for niveau, terr in territoires.items():
        if terr is None or terr.empty:
            continue
        s = sommes_grille(grille, terr, colonnes)
        men = s["menages"].to_numpy(dtype="float64")
        secret = ~(men >= seuil_menages)
        with np.errstate(divide="ignore", invalid="ignore"):
            imp = s["_imputes"].to_numpy() / men if "_imputes" in s.columns else np.nan
        noms_niv = (noms or {}).get(niveau, {})
        for ind in specs:
            num = s[ind.grille.numerateur].to_numpy(dtype="float64")
            if ind.grille.denominateur is None:
                den = np.full(len(s), np.nan)
                val = num.copy()
            else:
                den = s[ind.grille.denominateur].to_numpy(dtype="float64")
                with np.errstate(divide="ignore", invalid="ignore"):
                    val = np.where(den > 0, ind.multiplicateur * num / den, np.nan)
            statut = np.where(np.isnan(val), "manquant", "estime").astype(object)
            val = np.where(secret, np.nan, val)
            num = np.where(secret, np.nan, num)
            den = np.where(secret, np.nan, den)
            statut[secret] = "secret"
            note = np.where(
                secret,
                f"moins de {seuil_menages:g} ménages fiscaux : non diffusé (règle INSEE "
                "des données carroyées)",
                [
                    f"{100 * p:.0f} % des ménages dans des carreaux imputés" if p == p else None
                    for p in np.broadcast_to(imp, len(s))
                ],
            )
            morceaux.append(
                pd.DataFrame(
                    {
                        "territoire_code": s.index.to_numpy(),
                        "territoire_nom": [noms_niv.get(c) for c in s.index],
                        "niveau": niveau,
                        "indicateur": ind.id,
                        "sexe": ind.sexe,
                        "annee": int(annee),
                        "valeur": val,
                        "numerateur": num,
                        "denominateur": den,
                        "unite": ind.unite,
                        "methode": METHODE_GRILLE,
                        "statut": statut,
                        "source": f"{source}, millésime {annee}",
                        "origine": "grille",
                        "formule": (
                            ind.grille.numerateur
                            if ind.grille.denominateur is None
                            else f"{ind.multiplicateur:g} × Σ s·{ind.grille.numerateur} / "
                            f"Σ s·{ind.grille.denominateur}"
                        ),
                        "note": note,
                        "n_iris": np.nan,
                        "_part_imputee": np.where(secret, np.nan, imp),
                    }
                )
            )
    if not morceaux:
        return table_vide()
    brut = pd.concat(morceaux, ignore_index=True)
    out = _normaliser(brut)
    out["part_imputee"] = brut["_part_imputee"].to_numpy(dtype="float64")
    return out

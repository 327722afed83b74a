"""Compare two runs' outputs: which files changed, which indicator values changed.

Used by the yearly recomputation script (``scripts/recalcul_annuel.sh``) to list
what a new vintage changed against last year's outputs.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from observatoire.run.manifeste import (
    Changements,
    EtatSorties,
    comparer_inventaires,
    etat_sorties,
    lire_manifeste,
)

__all__ = [
    "ComparaisonRuns",
    "comparer_runs",
    "comparer_indicateurs",
    "lire_table_sortie",
    "CLES_INDICATEURS",
]

#: Columns identifying one value of the indicator long table.
CLES_INDICATEURS = ["territoire_code", "niveau", "indicateur", "sexe", "annee", "methode"]


def lire_table_sortie(dossier: str | os.PathLike, nom: str) -> pd.DataFrame | None:
    """Read an output table (``<nom>.parquet`` preferred, else ``<nom>.csv``) of a run folder.

    The table is looked for anywhere under ``dossier`` (the shallowest match wins).
    """
    dossier = Path(dossier)
    for motif in (f"{nom}.parquet", f"{nom}.csv"):
        trouves = sorted(dossier.rglob(motif), key=lambda p: (len(p.parts), str(p)))
        if trouves:
            p = trouves[0]
            if p.suffix == ".parquet":
                return pd.read_parquet(p)
            return pd.read_csv(p, dtype={"territoire_code": str, "reference_code": str})
    return None


def comparer_indicateurs(
    ancien: pd.DataFrame, nouveau: pd.DataFrame, *, seuil: float = 0.0
) -> pd.DataFrame:
    """Row-level differences between two indicator long tables.

    Returns one row per value that appeared, disappeared, changed by more than
    ``seuil`` or changed status: the keys, ``valeur_ancienne``, ``valeur_nouvelle``,
    ``difference``, ``statut_ancien``, ``statut_nouveau``, ``changement``
    (``ajoute``, ``supprime``, ``valeur``, ``statut``).

    Examples
    --------
    >>> k = dict(territoire_code="Q", niveau="qpv", indicateur="pop", sexe="ensemble",
    ...          methode="m", statut="estime")
    >>> a = pd.DataFrame([{**k, "annee": 2016, "valeur": 10.0}])
    >>> n = pd.DataFrame([{**k, "annee": 2016, "valeur": 12.0}, {**k, "annee": 2022,
    ...                   "valeur": 11.0}])
    >>> comparer_indicateurs(a, n)[["annee", "difference", "changement"]].to_dict("records")
    [{'annee': 2016, 'difference': 2.0, 'changement': 'valeur'}, \
{'annee': 2022, 'difference': nan, 'changement': 'ajoute'}]
    """
    cles = [c for c in CLES_INDICATEURS if c in ancien.columns and c in nouveau.columns]

    def prep(df):
        out = df[cles + ["valeur"] + (["statut"] if "statut" in df.columns else [])].copy()
        for c in cles:
            out[c] = out[c].astype(str)
        out["valeur"] = pd.to_numeric(out["valeur"], errors="coerce")
        return out.drop_duplicates(cles)

    m = prep(ancien).merge(
        prep(nouveau), on=cles, how="outer", suffixes=("_a", "_n"), indicator=True
    )
    va, vn = m["valeur_a"], m["valeur_n"]
    diff = vn - va
    sa = m.get("statut_a", pd.Series(index=m.index, dtype=object))
    sn = m.get("statut_n", pd.Series(index=m.index, dtype=object))
    valeur_change = (diff.abs() > seuil) | (va.isna() != vn.isna())
    statut_change = sa.fillna("").astype(str) != sn.fillna("").astype(str)
    changement = np.select(
        [m["_merge"] == "right_only", m["_merge"] == "left_only", valeur_change, statut_change],
        ["ajoute", "supprime", "valeur", "statut"],
        default="",
    )
    out = pd.DataFrame({c: m[c] for c in cles})
    out["valeur_ancienne"] = va
    out["valeur_nouvelle"] = vn
    out["difference"] = diff
    out["statut_ancien"] = sa
    out["statut_nouveau"] = sn
    out["changement"] = changement
    out = out[out["changement"] != ""]
    if "annee" in out.columns:
        out["annee"] = pd.to_numeric(out["annee"], errors="coerce").astype("Int64")
    return out.sort_values(cles).reset_index(drop=True)


@dataclass
class ComparaisonRuns:
    """Differences between two run output folders."""

    ancien: Path
    nouveau: Path
    fichiers: Changements
    valeurs: pd.DataFrame
    annees_anciennes: list
    annees_nouvelles: list
    #: ``"ancien"``/``"nouveau"`` → what was changed by hand in that folder since its run.
    retouches: dict[str, EtatSorties] = field(default_factory=dict)

    def resume(self, limite: int = 20) -> str:
        """Readable summary: years, files changed by hand, files, indicator values."""
        lignes = [
            f"comparaison {self.ancien} → {self.nouveau}",
            f"années : {self.annees_anciennes} → {self.annees_nouvelles}",
        ]
        for cle, dossier in (("ancien", self.ancien), ("nouveau", self.nouveau)):
            etat = self.retouches.get(cle)
            if etat is None or etat.intact:
                continue
            lignes.append(
                f"{dossier} a été retouché à la main depuis son exécution (son manifeste "
                "ne décrit pas ces fichiers) :"
            )
            for titre, liste in (
                ("retouché", etat.edites),
                ("non écrit par l'exécution", etat.ajoutes),
                ("supprimé", etat.supprimes),
            ):
                for p in liste[:limite]:
                    lignes.append(f"  {titre} : {p}")
                if len(liste) > limite:
                    lignes.append(f"  ... et {len(liste) - limite} autre(s) ({titre})")
        lignes.append("fichiers : " + self.fichiers.resume(limite))
        v = self.valeurs
        if v.empty:
            lignes.append("valeurs des indicateurs : aucun changement")
        else:
            compte = v["changement"].value_counts().to_dict()
            lignes.append(
                "valeurs des indicateurs : "
                + ", ".join(f"{n} {k}" for k, n in sorted(compte.items()))
            )
            modif = v[v["changement"] == "valeur"].copy()
            if len(modif):
                modif["ampleur"] = modif["difference"].abs()
                for r in modif.nlargest(limite, "ampleur").itertuples():
                    lignes.append(
                        f"  {r.niveau} {r.territoire_code} {r.indicateur} {r.annee} : "
                        f"{r.valeur_ancienne:.4g} → {r.valeur_nouvelle:.4g}"
                    )
        return "\n".join(lignes)


def comparer_runs(
    ancien: str | os.PathLike, nouveau: str | os.PathLike, *, seuil: float = 0.0
) -> ComparaisonRuns:
    """Compare two output folders of ``observatoire run`` (files by content, then values)."""
    ancien, nouveau = Path(ancien), Path(nouveau)
    ma, mn = lire_manifeste(ancien) or {}, lire_manifeste(nouveau) or {}
    # what is on disk in both folders (every file), not what their manifests recorded
    ea, en = etat_sorties(ancien, ma), etat_sorties(nouveau, mn)
    fichiers = comparer_inventaires(ea.inventaire, en.inventaire)
    ta, tn = lire_table_sortie(ancien, "indicateurs"), lire_table_sortie(nouveau, "indicateurs")
    if ta is not None and tn is not None:
        valeurs = comparer_indicateurs(ta, tn, seuil=seuil)
    else:
        valeurs = pd.DataFrame(columns=[*CLES_INDICATEURS, "changement"])
    return ComparaisonRuns(
        ancien,
        nouveau,
        fichiers,
        valeurs,
        ma.get("annees", []),
        mn.get("annees", []),
        retouches={"ancien": ea, "nouveau": en},
    )

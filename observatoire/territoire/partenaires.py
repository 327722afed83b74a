"""Partners' tables of a territory: rows placed in its zones, counted and rated."""

from __future__ import annotations

import os

import pandas as pd

from observatoire.rapport import Rapport
from observatoire.territoire.donnees import DonneesTerritoire
from observatoire.territoire.poids import PoidsTerritoire

__all__ = ["territoire_partenaires", "indicateurs_partenaires"]


def territoire_partenaires(donnees: DonneesTerritoire, poids: PoidsTerritoire):
    """Return the territory's geography for placing partners' rows (zones, IRIS, communes, EPCI)."""
    from observatoire.partenaires import TerritoirePartenaires

    cfg = donnees.config
    q = donnees.qpv
    return TerritoirePartenaires(
        iris=donnees.iris_territoire,
        zones=poids.zones,
        epci=cfg.epci.code,
        noms_communes={c: (n or c) for c, n in cfg.epci.communes.items()},
        nom_epci=cfg.epci.nom,
        communes_qpv={
            c: list(com)[0] for c, com in zip(q["code_zone"], q["communes"], strict=True) if com
        },
        poids=poids.poids,
    )


def _denominateurs(ind: pd.DataFrame, indicateur: str, annee: int) -> pd.DataFrame:
    """Value of record of ``indicateur`` per territory at the vintage nearest ``annee``."""
    from observatoire.indicateurs.valeur_retenue import valeurs_retenues

    t = ind[(ind["indicateur"] == indicateur) & (ind["sexe"] == "ensemble") & ind["valeur"].notna()]
    if t.empty:
        return pd.DataFrame(columns=["niveau", "territoire_code", "valeur", "annee"])
    t = t.assign(_d=(t["annee"].astype(int) - int(annee)).abs()).sort_values(
        ["_d", "annee"], ascending=[True, False], kind="stable"
    )
    v = valeurs_retenues(t, ["niveau", "territoire_code"])
    return v[["niveau", "territoire_code", "valeur", "annee"]]


def indicateurs_partenaires(
    donnees: DonneesTerritoire,
    ind: pd.DataFrame,
    poids: PoidsTerritoire,
    rapport: Rapport,
    resume: list[str],
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Count (and rate) every partner table; return the rows and the placement report.

    The rows of a partner's file stay in memory: only counts, the placement report
    (``tables/partenaires_localisation``) and the file's SHA-256 (manifest) are written.
    """
    from observatoire.partenaires import traiter_table

    cfg = donnees.config
    territoire = territoire_partenaires(donnees, poids)
    en_ligne = not os.environ.get("OBSERVATOIRE_HORS_LIGNE")
    morceaux, bilans = [], []
    for i, spec in enumerate(cfg.partenaires):
        e = donnees.entrees[f"partenaires[{i}].source"]
        den = (
            _denominateurs(ind, spec.denominateur.indicateur, spec.annee)
            if spec.denominateur is not None
            else None
        )
        r = traiter_table(
            e.chemin,
            spec,
            territoire,
            url=spec.geocodeur,
            en_ligne=en_ligne,
            denominateurs=den,
            table=donnees.partenaires[i],
        )
        morceaux.append(r.indicateurs)
        geo = r.bilan.pop("geocodage", None) or {}
        par_cle = r.bilan.pop("par_cle", {})
        bilans.append(
            {
                **r.bilan,
                **{f"par_cle_{k}": v for k, v in par_cle.items()},
                **{f"geocodage_{k}": v for k, v in geo.items() if k != "erreur"},
                "geocodage_erreur": geo.get("erreur"),
            }
        )
        non = r.bilan["lignes"] - r.bilan["placees"]
        resume.append(
            f"table partenaire {spec.code} ({spec.partenaire}, {spec.annee}) : "
            f"{r.bilan['placees']:,} lignes placées sur {r.bilan['lignes']:,}"
        )
        if non:
            motifs = ("hors_territoire", "code_inconnu", "sans_localisation", "score_faible")
            rapport.avertir(
                "partenaires",
                spec.code,
                f"{non} lignes sur {r.bilan['lignes']} de {e.chemin.name} non placées ("
                + ", ".join(f"{k} {r.bilan[k]}" for k in (*motifs, "non_geocodee") if r.bilan[k])
                + ")",
                n=non,
            )
        if r.bilan.get("chevauchements"):
            rapport.avertir(
                "partenaires",
                spec.code,
                f"{r.bilan['chevauchements']} lignes de {spec.code} à la fois dans un QPV et un "
                "territoire de veille : comptées dans chacun",
            )
    lignes = pd.concat(morceaux, ignore_index=True) if morceaux else pd.DataFrame()
    return lignes, pd.DataFrame(bilans)

"""Dilution correction of a territory's zone estimates, with its model fitted once per input set."""

from __future__ import annotations

import pandas as pd

from observatoire.indicateurs.codebook import Codebook
from observatoire.rapport import Rapport
from observatoire.territoire.donnees import DonneesTerritoire

__all__ = ["modele_correction", "corrections"]

#: Training inputs of the model → ``sources:`` role.
ROLES_ENTRAINEMENT = {
    "qpv": "qpv_entrainement",
    "iris": "iris_statistiques",
    "taux_iris": "indicateurs_iris",
    "communes": "indicateurs_communes",
    "officiel": "qpv_officiel",
}


def modele_correction(donnees: DonneesTerritoire, codebook: Codebook, rapport: Rapport):
    """Dilution-correction model of the territory, fitted once per set of inputs (cached).

    Trained on the QPV of ``sources.qpv_entrainement`` (every QPV of the département with
    official values), the IRIS layer of the statistics' edition, the IRIS rates, the
    commune table and the official QPV table of the configuration; cached in the cache
    folder under the SHA-256 of those files and the package version. ``None`` without
    ``sources.qpv_entrainement`` or another training input.
    """
    import hashlib
    import pickle

    from observatoire import __version__
    from observatoire.chemins import dossier_cache
    from observatoire.ecriture_atomique import ecrire_fichier_atomique
    from observatoire.indicateurs.valeur_retenue import millesime_proche
    from observatoire.sources.integrite import sha256_memo

    if donnees.chemin("qpv_entrainement") is None:
        return None
    fichiers = {
        k: donnees.chemin(r) or (donnees.chemin("iris") if k == "iris" else None)
        for k, r in ROLES_ENTRAINEMENT.items()
    }
    manque = sorted(ROLES_ENTRAINEMENT[k] for k, v in fichiers.items() if v is None)
    if manque:
        rapport.avertir(
            "indicateurs",
            "correction",
            f"correction de la dilution non ajustée : sources {manque} manquantes",
        )
        return None
    annees = donnees.annees
    annee_off = donnees.config.sources["qpv_officiel"].annee_valeurs or max(annees)
    annee_est = int(millesime_proche([annee_off], annees)[0])
    h = hashlib.sha256(f"{__version__}|{annee_off}|{annee_est}".encode())
    for k in sorted(fichiers):
        h.update(f"|{k}:{sha256_memo(fichiers[k])}".encode())
    chemin = dossier_cache() / "modeles" / f"correction-{h.hexdigest()[:24]}.v2.pkl"
    if chemin.is_file():
        with open(chemin, "rb") as f:
            return pickle.load(f)
    from observatoire.correction import ajuster, donnees_entrainement

    entr = donnees_entrainement(
        fichiers=fichiers,
        annee_officielle=annee_off,
        annee_estimation=annee_est,
        codebook=codebook,
    )
    modele = ajuster(entr).sans_resultats()
    ecrire_fichier_atomique(chemin, pickle.dumps(modele))
    return modele


def corrections(
    donnees: DonneesTerritoire,
    ind: pd.DataFrame,
    poids: pd.DataFrame,
    codebook: Codebook,
    rapport: Rapport,
    resume: list[str],
) -> tuple[pd.DataFrame, dict | None]:
    """Dilution-corrected rows of the zones that cut IRIS, and the models applied.

    Only the indicators whose model validates are corrected; a line is added to
    ``resume``.
    """
    from observatoire.correction import corriger, zones_iris_coupes

    modele = modele_correction(donnees, codebook, rapport)
    if modele is None or not modele.modeles:
        return pd.DataFrame(), None
    communes = {v.code: v.commune for v in donnees.config.veille}
    q = donnees.qpv
    for code, com in zip(q["code_zone"], q["communes"], strict=True):
        if com:
            communes[code] = list(com)[0]
    out = corriger(ind, modele, zones_coupees=zones_iris_coupes(poids), communes=communes)
    if len(out):
        resume.append(
            "correction de la dilution : "
            + ", ".join(f"{m.indicateur} ({m.forme}, n = {m.n})" for m in modele.modeles.values())
            + f" — {len(out)} valeurs corrigées"
        )
    return out, {"correction_dilution": modele.to_dict()}

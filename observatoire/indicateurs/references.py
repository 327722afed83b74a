"""Reference territories of each zone: its commune(s), EPCI, département, France.

A zone's communes are those of the IRIS it takes weight from. References are a
plain table (``territoire_code, niveau, reference_niveau, reference_code``) so a
territory configuration can add or replace any of them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import pandas as pd

from observatoire.rapport import ErreurDonnees

__all__ = ["references_territoires", "COLONNES_REFERENCES"]

COLONNES_REFERENCES = ["territoire_code", "niveau", "reference_niveau", "reference_code"]


def _table_correspondance(obj, cle: str, valeur: str, quoi: str) -> pd.DataFrame:
    if obj is None:
        return pd.DataFrame(columns=[cle, valeur])
    if isinstance(obj, pd.DataFrame):
        if cle not in obj.columns or valeur not in obj.columns:
            raise ErreurDonnees(
                f"{quoi} : colonnes {cle!r} et {valeur!r} requises (colonnes : {list(obj.columns)})"
            )
        return obj[[cle, valeur]].astype("object").drop_duplicates()
    lignes = []
    for k, v in dict(obj).items():
        if isinstance(v, (list, tuple, set)):  # {code_epci: [communes]}
            lignes += [(c, k) for c in v]
        else:  # {commune: code}
            lignes.append((k, v))
    df = (
        pd.DataFrame(lignes, columns=[cle, valeur])
        if lignes
        else pd.DataFrame(columns=[cle, valeur])
    )
    return df.astype("object")


def references_territoires(
    niveaux: Mapping[str, pd.DataFrame],
    iris_communes: pd.DataFrame,
    *,
    communes_epci: pd.DataFrame | Mapping | None = None,
    communes_departement: pd.DataFrame | Mapping | None = None,
    france: str | None = "FR",
    zones: Iterable[str] = ("iris", "qpv", "veille", "commune"),
) -> pd.DataFrame:
    """Build the reference table of every zone of the given levels.

    Parameters
    ----------
    niveaux : mapping
        Level → weights table (``code_zone, code_iris, poids``) for zone levels.
    iris_communes : DataFrame
        ``code_iris, code_commune`` (communes with Marseille/Lyon/Paris rolled up).
    communes_epci : DataFrame or mapping, optional
        ``code_commune, code_epci`` or ``{code_epci: [communes]}``.
    communes_departement : DataFrame or mapping, optional
        ``code_commune, code_departement`` or ``{code_departement: [communes]}``;
        default: the first two characters of the commune code.
    france : str or None
        Code of the France reference (None: no France reference).
    zones : iterable of str
        Levels whose territories get references (``iris`` uses ``iris_communes``).

    Returns
    -------
    DataFrame
        ``territoire_code, niveau, reference_niveau, reference_code``; a zone over two
        communes gets both.

    Examples
    --------
    >>> p = pd.DataFrame({"code_zone": ["Q"], "code_iris": ["130470107"], "poids": [0.5]})
    >>> ic = pd.DataFrame({"code_iris": ["130470107"], "code_commune": ["13047"]})
    >>> r = references_territoires({"qpv": p}, ic, communes_epci={"SAN": ["13047"]})
    >>> r.loc[r["niveau"] == "qpv", ["reference_niveau", "reference_code"]].values.tolist()
    [['commune', '13047'], ['epci', 'SAN'], ['departement', '13'], ['france', 'FR']]
    """
    ic = _table_correspondance(iris_communes, "code_iris", "code_commune", "iris_communes")
    ce = _table_correspondance(communes_epci, "code_commune", "code_epci", "communes_epci")
    if communes_departement is None:
        cd = ic[["code_commune"]].drop_duplicates()
        cd["code_departement"] = cd["code_commune"].astype(str).str[:2]
    else:
        cd = _table_correspondance(
            communes_departement, "code_commune", "code_departement", "communes_departement"
        )
    paires = []  # (territoire, niveau, code_commune)
    for niveau in zones:
        if niveau == "iris":
            paires.append(ic.assign(niveau="iris").rename(columns={"code_iris": "territoire_code"}))
            continue
        if niveau == "commune":
            c = ic[["code_commune"]].drop_duplicates()
            paires.append(
                pd.DataFrame(
                    {
                        "territoire_code": c["code_commune"],
                        "niveau": "commune",
                        "code_commune": c["code_commune"],
                    }
                )
            )
            continue
        if niveau not in niveaux or niveaux[niveau] is None:
            continue
        p = niveaux[niveau]
        p = p[p["poids"] > 0][["code_zone", "code_iris"]].merge(ic, on="code_iris", how="left")
        paires.append(
            pd.DataFrame(
                {
                    "territoire_code": p["code_zone"],
                    "niveau": niveau,
                    "code_commune": p["code_commune"],
                }
            )
        )
    if not paires:
        return pd.DataFrame(columns=COLONNES_REFERENCES)
    base = pd.concat(paires, ignore_index=True).dropna().drop_duplicates()
    refs = []
    non_commune = base[base["niveau"] != "commune"]
    refs.append(
        non_commune.assign(reference_niveau="commune", reference_code=non_commune["code_commune"])
    )
    if len(ce):
        e = base.merge(ce, on="code_commune")
        refs.append(e.assign(reference_niveau="epci", reference_code=e["code_epci"]))
    d = base.merge(cd, on="code_commune")
    refs.append(d.assign(reference_niveau="departement", reference_code=d["code_departement"]))
    if france:
        refs.append(base.assign(reference_niveau="france", reference_code=france))
    out = pd.concat(refs, ignore_index=True)[COLONNES_REFERENCES].drop_duplicates()
    ordre = {"commune": 0, "epci": 1, "departement": 2, "france": 3}
    out = out.assign(_o=out["reference_niveau"].map(ordre)).sort_values(
        ["niveau", "territoire_code", "_o", "reference_code"], kind="stable"
    )
    return out.drop(columns="_o").reset_index(drop=True).astype("object")

"""Loaders for statistical tables: INSEE IRIS tables, rate tables, official QPV tables.

Variable names are normalised without their vintage: ``P16_POP0014`` and
``P21_POP0014`` both become ``p_pop0014`` with the year in ``annee``; the
P/C prefix (exploitation principale / complémentaire) is kept. Codes are strings.
INSEE's secret and missing markers become NaN, never 0.
"""

from __future__ import annotations

import csv
import io
import os
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from observatoire.chargement.codes import (
    MOTIF_COMMUNE,
    MOTIF_IRIS,
    codes_stricts,
    colonnes_niveau,
    generation_qpv,
    normaliser_code,
)
from observatoire.chargement.validation import trouver_colonne
from observatoire.rapport import ErreurDonnees, Rapport

__all__ = [
    "lire_table",
    "lire_table_iris",
    "lire_indicateurs_ptod",
    "lire_qpv_officiel",
    "MARQUEURS_MANQUANTS",
]

#: Text cells read as missing (secret statistique, non disponible...).
MARQUEURS_MANQUANTS = {
    "",
    "s",
    "S",
    "nd",
    "ND",
    "n.d.",
    "NA",
    "na",
    "nan",
    "NaN",
    "secret",
    "c",
    "-",
}

# Vintage-bearing variable names: (regex, function(match) -> (normalised name, year)).
_MOTIFS_ANNEE = [
    # RP bases infracommunales: P16_POP0014, C16_POP15P_CS1
    (re.compile(r"^([PC])(\d{2})_(.+)$"), lambda m: (f"{m[1]}_{m[3]}".lower(), 2000 + int(m[2]))),
    # RFL: RFUCQ211 = median 2011
    (
        re.compile(r"^(RFUC(?:Q2|IQ|RD|ET|MO|GI|D\d))(\d{2})$"),
        lambda m: (m[1].lower(), 2000 + int(m[2])),
    ),
    # Filosofi IRIS: DEC_MED17, DISP_TP6019
    (re.compile(r"^((?:DEC|DISP)_[A-Z0-9]+?)(\d{2})$"), lambda m: (m[1].lower(), 2000 + int(m[2]))),
]


def lire_table(chemin: str | os.PathLike, *, feuille: str | int = 0) -> pd.DataFrame:
    """Read a CSV (``,`` or ``;``) or XLSX table with every column as text."""
    chemin = Path(chemin)
    if not chemin.exists():
        raise ErreurDonnees(f"{chemin} : fichier introuvable")
    try:
        if chemin.suffix.lower() in {".xlsx", ".xls"}:
            return pd.read_excel(chemin, sheet_name=feuille, dtype=str, keep_default_na=False)
        with open(chemin, encoding="utf-8-sig") as f:
            entete = f.readline()
        sep = ";" if entete.count(";") > entete.count(",") else ","
        verifier_structure_csv(chemin, sep)
        options = dict(sep=sep, dtype=str, keep_default_na=False, encoding="utf-8-sig")
        try:  # Arrow's multithreaded parser; same cells as the C parser (tested)
            return pd.read_csv(chemin, engine="pyarrow", **options)
        except Exception:  # whatever Arrow refuses, the C parser reads or explains
            return pd.read_csv(chemin, **options)
    except ErreurDonnees:
        raise
    except Exception as exc:
        raise ErreurDonnees(f"{chemin} : lecture de la table impossible : {exc}") from exc


def verifier_structure_csv(chemin: str | os.PathLike, sep: str) -> None:
    """Check that every line of a CSV has the header's number of fields.

    A row cut short (a file truncated inside a row, a line split in two) or carrying
    extra fields is an error naming the file and the line; parsers would otherwise pad
    the row with empty cells or shift its values. Blank lines are ignored.

    Raises
    ------
    ErreurDonnees
        ``FILE: line N: K fields, the header has M``.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "t.csv"
    >>> _ = p.write_text("IRIS;P16_POP" + chr(10) + "130470106;12" + chr(10) + "132")
    >>> verifier_structure_csv(p, ";")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    observatoire.rapport.ErreurDonnees: ...t.csv : ligne 3 : 1 champ(s), l'en-tête en a 2 ; ...
    """
    donnees = Path(chemin).read_bytes()
    if donnees.startswith(b"\xef\xbb\xbf"):
        donnees = donnees[3:]
    complet = donnees.endswith((b"\n", b"\r"))
    if b'"' in donnees:  # quoted fields may hold separators or line breaks: a real parser
        texte = donnees.decode("utf-8", errors="replace")
        lecteur = csv.reader(io.StringIO(texte, newline=""), delimiter=sep)
        comptes, debut = [], 1
        for champs in lecteur:
            comptes.append((debut, len(champs) if champs else 0))
            debut = lecteur.line_num + 1
    else:
        lignes = donnees.split(b"\n")
        if complet:
            lignes = lignes[:-1]
        octet = sep.encode()
        comptes = [
            (i, ligne.count(octet) + 1 if ligne.strip() else 0)
            for i, ligne in enumerate(lignes, start=1)
        ]
    if not comptes:
        return
    n_entete = comptes[0][1]
    dernier = comptes[-1][0]
    for numero, n in comptes[1:]:
        if n and n != n_entete:
            fin = (
                " ; la dernière ligne est incomplète (fichier tronqué ?)"
                if numero == dernier and not complet
                else ""
            )
            raise ErreurDonnees(
                f"{chemin} : ligne {numero} : {n} champ(s), l'en-tête en a {n_entete}{fin}"
            )


class ValeurInfinie(ErreurDonnees):
    """A numeric column holds an infinite value (never a statistic)."""


def _numerique(serie: pd.Series, *, source: str, colonne: str) -> pd.Series:
    """Convert text to float: markers → NaN; unparsable or infinite values → error.

    Examples
    --------
    >>> _numerique(pd.Series(["1.5", "s", "", "2,5"]), source="t", colonne="c").tolist()
    [1.5, nan, nan, 2.5]
    >>> _numerique(pd.Series(["1", "inf"]), source="t.csv", colonne="P16_POP")
    Traceback (most recent call last):
    ...
    observatoire.chargement.tables.ValeurInfinie: t.csv : colonne P16_POP : 1 valeur(s) infinie(s) \
à la ou les ligne(s) [3] (attendu : des nombres finis ou une marque de secret/valeur manquante)
    """
    valeurs = _numerique_brut(serie, source=source, colonne=colonne)
    infinis = np.isinf(valeurs.to_numpy())
    if infinis.any():
        pos = infinis.nonzero()[0]
        raise ValeurInfinie(
            f"{source} : colonne {colonne} : {len(pos)} valeur(s) infinie(s) à la ou les "
            f"ligne(s) {[int(i) + 2 for i in pos[:10]]} (attendu : des nombres finis ou une "
            "marque de secret/valeur manquante)"
        )
    return valeurs


def _numerique_brut(serie: pd.Series, *, source: str, colonne: str) -> pd.Series:
    try:  # fast path: every cell empty-free and a plain number (Arrow's parser)
        nombres = pc.cast(pa.array(serie, from_pandas=True), pa.float64())
        return pd.Series(
            nombres.to_numpy(zero_copy_only=False),
            index=serie.index,
            name=serie.name,
            dtype="float64",
        )
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
        pass
    valeurs = pd.to_numeric(serie, errors="coerce")  # plain numbers among other cells
    reste = valeurs.isna()
    if reste.any():  # only the non-numeric cells are looked at one by one
        texte = (
            serie[reste]
            .astype("object")
            .where(serie[reste].notna(), "")
            .map(lambda v: str(v).strip())
        )
        marque = texte.isin(MARQUEURS_MANQUANTS)
        virgule = pd.to_numeric(
            texte.where(~marque).str.replace(",", ".", regex=False), errors="coerce"
        )
        valeurs = valeurs.astype("float64")
        valeurs[reste] = virgule
        mauvais = virgule.isna() & ~marque
        if mauvais.any():
            exemples = texte[mauvais].unique()[:5].tolist()
            raise ErreurDonnees(
                f"{source} : colonne {colonne} : {int(mauvais.sum())} valeur(s) non "
                f"numérique(s) {exemples} (attendu : des nombres ou une marque de "
                "secret/valeur manquante)"
            )
    return valeurs.astype("float64")


def lire_table_iris(chemin: str | os.PathLike, *, rapport: Rapport | None = None) -> pd.DataFrame:
    """Read an INSEE IRIS table (RP bases infracommunales, RFL, Filosofi) of any vintage.

    Returns
    -------
    DataFrame
        One row per IRIS and vintage: ``code_iris``, ``annee``, ``type_iris`` (if
        given), ``code_commune`` (if given) and the variables normalised without
        their year (``p_pop0014``, ``c_pop15p_cs1``, ``rfucq2``, ``dec_med``...).
    """
    src = str(chemin)
    brut = lire_table(chemin)
    c_code = trouver_colonne(
        brut,
        ["IRIS", "CODE_IRIS", "DCOMIRIS", "CodeIris", "code_iris"],
        source=src,
        role="code IRIS",
    )
    code = codes_stricts(brut[c_code], 9, MOTIF_IRIS, source=src, colonne=c_code)
    c_type = trouver_colonne(brut, ["TYP_IRIS", "type_iris"], source=src, role="", requis=False)
    c_com = trouver_colonne(
        brut, ["COM", "DEPCOM", "code_commune"], source=src, role="", requis=False
    )
    communes = (
        codes_stricts(brut[c_com], 5, MOTIF_COMMUNE, source=src, colonne=c_com) if c_com else None
    )
    par_annee: dict[int, dict[str, pd.Series]] = {}
    for col in brut.columns:
        for motif, nommer in _MOTIFS_ANNEE:
            m = motif.match(str(col))
            if m:
                nom, annee = nommer(m)
                par_annee.setdefault(annee, {})[nom] = _numerique(
                    brut[col], source=src, colonne=col
                )
                break
    if not par_annee:
        raise ErreurDonnees(f"{src} : aucune variable portant un millésime (comme P16_POP)")
    morceaux = []
    for annee in sorted(par_annee):
        df = pd.DataFrame(par_annee[annee])
        df.insert(0, "annee", annee)
        df.insert(0, "code_iris", code.to_numpy())
        if c_com:
            df.insert(2, "code_commune", communes.to_numpy())
        if c_type:
            df.insert(2, "type_iris", brut[c_type].str.strip().to_numpy())
        morceaux.append(df)
    out = pd.concat(morceaux, ignore_index=True)
    out.attrs["lignes_par_annee"] = len(brut)  # row k of out is line k % n + 2 of the file
    doublons = out.duplicated(["code_iris", "annee"])
    if doublons.any():
        raise ErreurDonnees(
            f"{src} : IRIS en double : {out.loc[doublons, 'code_iris'].unique()[:10].tolist()}"
        )
    if rapport is not None:
        n_nan = int(
            out.drop(columns=["code_iris", "annee"]).select_dtypes("number").isna().sum().sum()
        )
        rapport.info(
            "chargement",
            src,
            f"{len(brut)} IRIS, millésimes {sorted(par_annee)}, "
            f"{n_nan} cellules manquantes ou secrètes gardées en NaN",
            n=len(brut),
        )
    return out


_NIVEAUX_PTOD = {
    "iris": ["IRIS", "code_iris"],
    "commune": ["code", "COM", "codgeo"],
    "departement": ["code", "DEP"],
}
_ANNEE_SUFFIXE = re.compile(r"^(.+)_(\d{2})$")
_POP_PTOD = re.compile(r"^P(\d{2})_POP$")


def lire_indicateurs_ptod(
    chemin: str | os.PathLike,
    niveau: str = "iris",
    *,
    rapport: Rapport | None = None,
) -> pd.DataFrame:
    """Read a rate table of the ``ptod`` observatory (IRIS, commune or département level).

    These files carry rates computed by a third party (no counts), one column per
    indicator and vintage (``soc_txchom_1564_22``) plus ``P11_POP``/``P16_POP``/``P22_POP``.

    Returns
    -------
    DataFrame
        One row per code and vintage: the level's code and name columns (``code_iris,
        nom_iris``, ``code_commune, nom_commune`` or ``code_departement,
        nom_departement``, see :func:`observatoire.chargement.codes.colonnes_niveau`),
        ``niveau``, ``annee`` and the indicators without their year suffix, plus ``p_pop``.
    """
    if niveau not in _NIVEAUX_PTOD:
        raise ValueError(f"niveau doit être l'un de {sorted(_NIVEAUX_PTOD)}, pas {niveau!r}")
    col_code, col_nom = colonnes_niveau(niveau)
    src = str(chemin)
    brut = lire_table(chemin)
    c_code = trouver_colonne(brut, _NIVEAUX_PTOD[niveau], source=src, role=f"code {niveau}")
    c_nom = trouver_colonne(brut, ["libelle", "nom"], source=src, role="nom", requis=False)
    longueur = {"iris": 9, "commune": 5, "departement": 2}[niveau]
    if niveau == "iris":
        code = codes_stricts(brut[c_code], 9, MOTIF_IRIS, source=src, colonne=c_code)
    else:
        code = brut[c_code].astype("object").str.strip()
        code = code.str.replace(r"^(\d+)\.0+$", r"\1", regex=True)
        chiffres = code.str.fullmatch(r"\d+").fillna(False)
        if niveau == "commune":
            # commune codes: one lost leading zero put back; other codes (EPCI, 00FR) as given
            code = code.where(~(chiffres & (code.str.len() == 4)), "0" + code)
        else:
            code = code.where(~chiffres, normaliser_code(code, longueur))
    par_annee: dict[int, dict[str, pd.Series]] = {}
    for col in brut.columns:
        m = _POP_PTOD.match(str(col))
        if m:
            nom, annee = "p_pop", 2000 + int(m[1])
        else:
            m = _ANNEE_SUFFIXE.match(str(col))
            if not m or not m[1][0].islower():
                continue
            nom, annee = m[1], 2000 + int(m[2])
        try:
            valeurs = _numerique(brut[col], source=src, colonne=col)
        except ValeurInfinie:
            raise
        except ErreurDonnees:  # categorical indicators (e.g. dominant NAF section) stay text
            valeurs = brut[col].replace("", pd.NA)
        par_annee.setdefault(annee, {})[nom] = valeurs
    morceaux = []
    for annee in sorted(par_annee):
        df = pd.DataFrame(par_annee[annee])
        df.insert(0, "annee", annee)
        df.insert(0, col_nom, brut[c_nom].to_numpy() if c_nom else pd.NA)
        df.insert(0, "niveau", niveau)
        df.insert(0, col_code, code.to_numpy())
        morceaux.append(df)
    out = pd.concat(morceaux, ignore_index=True)
    out.attrs["lignes_par_annee"] = len(brut)
    if niveau == "departement":
        # Known defect of the source: P22_POP on the 00FR row is not France's population.
        faux = (out[col_code] == "00FR") & out["p_pop"].notna()
        if faux.any():
            out.loc[faux, "p_pop"] = np.nan
            if rapport is not None:
                rapport.avertir(
                    "chargement",
                    src,
                    "p_pop de la ligne 00FR ignorée (ce n'est pas la population de la France "
                    "dans cette source)",
                    n=int(faux.sum()),
                )
    return out


# Official QPV tables: source column → normalised name.
_QPV_2024 = {
    "popMuniQPV": "pop_mun",
    "indiceJeunesse": "indice_jeunesse",
    "partPopEt": "part_etrangers",
    "partPopImmi": "part_immigres",
    "partMenImmi": "part_menages_immigres",
    "partMenEt": "part_menages_etrangers",
    "partMen1p": "part_menages_1p",
    "partMen2p": "part_menages_2p",
    "partMen3p": "part_menages_3p",
    "partMen45p": "part_menages_45p",
    "partMen6pp": "part_menages_6pp",
    "nombre_menages": "nombre_menages",
    "nombre_logements_sociaux": "nombre_logements_sociaux",
    "taux_d_emploi": "taux_emploi",
    "taux_pauvrete_60": "taux_pauvrete_60",
    "personnes_couvertes_CAF": "personnes_couvertes_caf",
    "allocataires_CAF": "allocataires_caf",
    "RSA_socle": "rsa_socle",
}
_QPV_2015 = {
    "pop_mun": "pop_mun",
    "ind_jeune": "indice_jeunesse",
    "tx_tot_et": "part_etrangers",
    "tx_f": "part_femmes",
    "tx_f_et": "part_etrangeres",
    "percou": "personnes_couvertes_caf",
    "pmimp": "part_menages_imposes",
    "part_chomprinc": "part_menages_revenu_chomage",
    "decuc_q2": "revenu_declare_median_uc",
    "decuc_d1": "revenu_declare_d1_uc",
    "decuc_d9": "revenu_declare_d9_uc",
    "disp_q2": "revenu_disponible_median_uc",
    "disp_d1": "revenu_disponible_d1_uc",
    "disp_d9": "revenu_disponible_d9_uc",
    "tp60": "taux_pauvrete_60",
    "brev": "taux_bas_revenus",
    "a": "allocataires_caf",
    "tx_tot_empl": "taux_emploi",
    "tx_f_empl": "taux_emploi_f",
    "tx_et_empl": "taux_emploi_etrangers",
    "tx_tot_eprec": "part_emplois_precaires",
    "tx_f_eprec": "part_emplois_precaires_f",
    "tx_et_eprec": "part_emplois_precaires_etrangers",
    "abcde": "demandeurs_emploi_abcde",
    "abcde_f": "demandeurs_emploi_abcde_f",
    "abcde_h": "demandeurs_emploi_abcde_h",
}
#: Columns of official QPV tables that must not be used (recomputed by a third party).
_QPV_EXCLUES = {
    "taux_logements_sociaux": "recalculé par l'auteur de la table, valeurs > 100 présentes"
}


def lire_qpv_officiel(chemin: str | os.PathLike, *, rapport: Rapport | None = None) -> pd.DataFrame:
    """Read an official QPV-level indicator table (ANCT/INSEE "données QPV", 2015 or 2024).

    Tables with one row per QPV × commune are collapsed to one row per QPV when the
    repeated values agree; conflicting repeats are an error (never summed). The QPV
    code and name (source columns ``codeQPV``, ``code_qp``, ``lib_qp``...) come back
    under the zone names of the pipeline.

    Returns
    -------
    DataFrame
        One row per QPV: ``code_zone``, ``nom_zone``, ``generation``, ``communes``
        (list of codes), then normalised indicators (``pop_mun``, ``indice_jeunesse``,
        ``part_etrangers``, ``taux_emploi``, ``taux_pauvrete_60``...). Other source
        columns are kept under their own snake_case name; empty cells are NaN.
    """
    src = str(chemin)
    brut = lire_table(chemin)
    c_code = trouver_colonne(
        brut, ["code_qpv", "codeQPV", "code_qp", "CODE_QP"], source=src, role="code QPV"
    )
    c_nom = trouver_colonne(
        brut, ["nom_qpv", "lib_qp", "nom_qp", "NOM_QP"], source=src, role="nom de QPV", requis=False
    )
    c_com = trouver_colonne(
        brut,
        ["COG", "insee_com", "code_commune", "CODGEO"],
        source=src,
        role="code commune",
        requis=False,
    )
    correspondance = _QPV_2024 if c_code == "codeQPV" else _QPV_2015
    out = pd.DataFrame({"code_zone": brut[c_code].str.strip()})
    try:
        out["generation"] = out["code_zone"].map(generation_qpv)
    except ValueError as exc:
        raise ErreurDonnees(f"{src}: {exc}") from None
    out["nom_zone"] = brut[c_nom] if c_nom else pd.NA
    out["_commune"] = (
        codes_stricts(brut[c_com], 5, MOTIF_COMMUNE, source=src, colonne=c_com) if c_com else None
    )
    for col in brut.columns:
        if col in (c_code, c_nom, c_com):
            continue
        if col in _QPV_EXCLUES:
            if rapport is not None:
                rapport.avertir("chargement", src, f"colonne {col} ignorée : {_QPV_EXCLUES[col]}")
            continue
        if col in correspondance:
            out[correspondance[col]] = _numerique(brut[col], source=src, colonne=col)
        else:
            out[re.sub(r"[^0-9a-z]+", "_", str(col).lower()).strip("_")] = brut[col]
    valeurs = [c for c in out.columns if c not in ("code_zone", "_commune")]
    conflits = out.groupby("code_zone")[valeurs].nunique(dropna=False)
    # Text columns naming the commune legitimately differ between a QPV's rows.
    par_commune = [c for c in valeurs if c.startswith(("lib_com", "nom_commune", "cog"))]
    conflits = conflits.drop(columns=par_commune)
    mauvais = conflits[(conflits > 1).any(axis=1)]
    if len(mauvais):
        details = {q: mauvais.columns[mauvais.loc[q] > 1].tolist() for q in mauvais.index[:10]}
        raise ErreurDonnees(
            f"{src} : QPV en double avec des valeurs contradictoires (QPV : colonnes) : {details}"
        )
    communes = out.groupby("code_zone", sort=False)["_commune"].agg(
        lambda s: sorted(s.dropna().unique().tolist())
    )
    uniques = out.drop_duplicates("code_zone").drop(columns=["_commune", *par_commune])
    uniques.insert(3, "communes", uniques["code_zone"].map(communes))
    n_rep = len(out) - len(uniques)
    if n_rep and rapport is not None:
        rapport.info(
            "chargement",
            src,
            f"{n_rep} lignes QPV × commune répétées fusionnées (valeurs identiques)",
            n=n_rep,
        )
    return uniques.reset_index(drop=True)

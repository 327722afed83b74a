"""Codebook: validation with clear errors, and one computation test per indicator × sex.

Each indicator is computed on a hand-made fixture (three IRIS, one zone with weights 1, 1/2
and 1/4) and compared with an independent evaluation of the codebook formula (Python ``eval``
of the expression text, sums done by hand) — not with the engine's own helpers.
"""

from __future__ import annotations

import re
import textwrap

import numpy as np
import pandas as pd
import pytest

from observatoire.indicateurs import charger_codebook, indicateurs_comptages, indicateurs_taux
from observatoire.indicateurs.codebook import PILIERS, Expression
from observatoire.indicateurs.officiel import valeurs_officielles_qpv
from observatoire.rapport import ErreurDonnees

CODEBOOK = charger_codebook()
ENTREES = list(CODEBOOK)
POIDS = {"I1": 1.0, "I2": 0.5, "I3": 0.25}
ANNEES_TEST = (2011, 2016, 2022)


def _ids(ind):
    return f"{ind.id}-{ind.sexe}"


def _variables(ind, annee):
    """First alternative's variables (the fixture provides exactly those)."""
    ens = set()
    for bloc in (ind.insee.numerateur, ind.insee.denominateur):
        if bloc is None:
            continue
        alts = bloc.pour(annee)
        if not alts:
            return None
        ens |= set(alts[0].variables)
    return sorted(ens)


def _eval(texte: str, valeurs: dict[str, float]) -> float:
    """Independent evaluation of 'a + b - c' with Python's eval."""
    code = re.sub(r"[a-z][a-z0-9_]*", lambda m: repr(valeurs[m.group(0)]), texte)
    return float(eval(code))  # noqa: S307 - expression text of our own codebook


def test_codebook_has_at_least_25_indicators_and_three_pillars():
    assert len({i.id for i in CODEBOOK}) >= 25
    assert len(CODEBOOK) >= 40
    assert {i.pilier for i in CODEBOOK} == set(PILIERS)
    # Sex-specific indicators required by the contrat de ville.
    for ident in (
        "taux_chomage_1564",
        "taux_activite_1564",
        "part_salaries_temps_partiel",
        "part_non_diplomes",
        "part_diplomes_sup_long",
    ):
        assert {"ensemble", "F", "H"} <= {i.sexe for i in CODEBOOK if i.id == ident}, ident


@pytest.mark.parametrize("ind", ENTREES, ids=_ids)
def test_each_indicator_is_computed(ind):
    """One test per codebook entry, from the source(s) it declares."""
    if ind.insee is not None and ind.est_additif:
        annees = [a for a in ANNEES_TEST if _variables(ind, a)]
        assert annees, f"{ind.id}: no vintage definable"
        for annee in annees:
            variables = _variables(ind, annee)
            rng = np.random.default_rng(len(ind.id) + annee)
            valeurs = {c: {v: float(rng.integers(200, 900)) for v in variables} for c in POIDS}
            # Make every difference in a numerator positive.
            t = pd.DataFrame([{"code_iris": c, "annee": annee, **valeurs[c]} for c in POIDS])
            p = pd.DataFrame(
                {"code_zone": "Z", "code_iris": list(POIDS), "poids": list(POIDS.values())}
            )
            cb = CODEBOOK.selection([ind.id])
            r = indicateurs_comptages(t, {"iris": None, "zone": p}, codebook=cb)
            r = r[r["sexe"] == ind.sexe]
            num_txt = str(ind.insee.numerateur.pour(annee)[0])
            num = {c: _eval(num_txt, valeurs[c]) for c in POIDS}
            if ind.type == "effectif":
                attendu_z = sum(POIDS[c] * num[c] for c in POIDS)
                attendu_i = num
            else:
                den_txt = str(ind.insee.denominateur.pour(annee)[0])
                den = {c: _eval(den_txt, valeurs[c]) for c in POIDS}
                f = ind.multiplicateur
                attendu_z = (
                    f
                    * sum(POIDS[c] * num[c] for c in POIDS)
                    / sum(POIDS[c] * den[c] for c in POIDS)
                )
                attendu_i = {c: f * num[c] / den[c] for c in POIDS}
            z = r[r["niveau"] == "zone"].iloc[0]
            assert z["valeur"] == pytest.approx(attendu_z, rel=1e-12), (ind.id, annee)
            assert z["statut"] == "estime"
            assert z["methode"] == "ventilation_iris"
            for c in POIDS:
                v = r.loc[(r["niveau"] == "iris") & (r["territoire_code"] == c), "valeur"]
                assert v.iloc[0] == pytest.approx(attendu_i[c], rel=1e-12)
    elif ind.insee is not None:
        # Non-additive published statistic: IRIS value as is, zones explicitly missing.
        t = pd.DataFrame(
            {"code_iris": ["I1", "I2"], "annee": 2011, ind.insee.valeur: [11860.0, 15000.0]}
        )
        p = pd.DataFrame({"code_zone": "Z", "code_iris": ["I1", "I2"], "poids": [1.0, 1.0]})
        r = indicateurs_comptages(
            t, {"iris": None, "zone": p}, codebook=CODEBOOK.selection([ind.id])
        )
        iris = r[r["niveau"] == "iris"].set_index("territoire_code")
        assert iris.loc["I1", "valeur"] == 11860.0 and iris.loc["I1", "statut"] == "officiel"
        z = r[r["niveau"] == "zone"].iloc[0]
        assert np.isnan(z["valeur"]) and z["statut"] == "manquant"
        assert z["methode"] == "non_additif"
    if ind.ptod is not None and ind.est_additif and ind.type != "effectif":
        d = ind.ptod.denominateur_approche
        annee = (ind.ptod.annees or (2022,))[0]
        t = pd.DataFrame(
            {
                "code_iris": ["I1", "I2"],
                "annee": annee,
                ind.ptod.colonne: [10.0, 40.0],
                d: [300.0, 100.0],
            }
        )
        p = pd.DataFrame({"code_zone": "Z", "code_iris": ["I1", "I2"], "poids": [1.0, 0.5]})
        r = indicateurs_taux(t, {"zone": p}, codebook=CODEBOOK.selection([ind.id]))
        r = r[r["sexe"] == ind.sexe].iloc[0]
        assert r["valeur"] == pytest.approx((10 * 300 + 40 * 50) / 350)
        assert r["statut"] == "approximation"
    if ind.qpv_officiel is not None:
        t = pd.DataFrame(
            {
                "code_zone": ["QN01365M"],
                "nom_zone": ["Le Prépaou"],
                "generation": [2024],
                ind.qpv_officiel.colonne: [42.5],
            }
        )
        r = valeurs_officielles_qpv(t, codebook=CODEBOOK.selection([ind.id]), annee=2020)
        r = r[r["sexe"] == ind.sexe].iloc[0]
        assert (r["valeur"], r["statut"], r["annee"]) == (42.5, "officiel", 2020)


def test_variants_per_vintage():
    sup = CODEBOOK["part_diplomes_sup_long"]
    cols = ["p_nscol15p", "p_nscol15p_sup", "p_nscol15p_sup34", "p_nscol15p_sup5"]
    assert str(sup.expressions_insee(2011, cols)[0]) == "p_nscol15p_sup"
    assert sup.expressions_insee(2016, cols) == (None, None)  # SUP includes bac+2 in 2016
    assert str(sup.expressions_insee(2022, cols)[0]) == "p_nscol15p_sup34 + p_nscol15p_sup5"
    cadres = CODEBOOK["part_cadres"]
    assert str(cadres.expressions_insee(2016, ["c_pop15p_cs3", "c_pop15p"])[0]) == "c_pop15p_cs3"
    assert (
        str(cadres.expressions_insee(2022, ["c_pop15p_stat_gsec13_23", "c_pop15p"])[0])
        == "c_pop15p_stat_gsec13_23"
    )


def test_alternative_used_when_first_variables_absent():
    """Women's unemployment: P_FCHOM1564 if published, else actives minus employed."""
    ind = CODEBOOK["taux_chomage_1564", "F"]
    t = pd.DataFrame(
        {
            "code_iris": ["A", "B"],
            "annee": 2016,
            "p_fact1564": [100.0, 300.0],
            "p_factocc1564": [80.0, 270.0],
        }
    )
    r = indicateurs_comptages(t, {"iris": None}, codebook=CODEBOOK.selection([ind.id]))
    r = r[r["sexe"] == "F"].set_index("territoire_code")
    assert r.loc["A", "valeur"] == pytest.approx(20.0)
    assert r.loc["B", "valeur"] == pytest.approx(10.0)
    assert r.loc["A", "formule"] == "100 × (p_fact1564 - p_factocc1564) / (p_fact1564)"


def test_expression_parser():
    e = Expression.lire("a + b_1 - c")
    assert e.termes == ((1, "a"), (1, "b_1"), (-1, "c"))
    for mauvais in ("", "a +", "a b", "A + b", "a * b"):
        with pytest.raises(ValueError):
            Expression.lire(mauvais)


def _ecrire(tmp_path, corps: str):
    chemin = tmp_path / "cb.yaml"
    chemin.write_text(
        "indicateurs:\n" + textwrap.indent(textwrap.dedent(corps), "  "), encoding="utf-8"
    )
    return chemin


BASE = """\
- id: x
  libelle: X
  pilier: cohésion sociale
  theme: t
  type: part
  unite: "%"
  direction: neutre
  seuil_denominateur: 10
  source: s
  insee: {numerateur: a, denominateur: b}
"""


@pytest.mark.parametrize(
    "remplacer,attendu",
    [
        (("pilier: cohésion sociale", "pilier: sport"), "pilier"),
        (("type: part", "type: moyenne"), "type"),
        (
            ("insee: {numerateur: a, denominateur: b}", "insee: {numerateur: a}"),
            "demande un denominateur insee",
        ),
        (
            (
                "insee: {numerateur: a, denominateur: b}",
                "insee: {numerateur: 'a * b', denominateur: b}",
            ),
            "illisible au caractère",
        ),
        (("type: part", "type: mediane\n  additif: true"), "médiane"),
        (("seuil_denominateur: 10", "seuil_denominateur: -1"), "seuil_denominateur"),
        (("source: s\n", "source: s\n  couleur: rouge\n"), "couleur"),
    ],
)
def test_invalid_codebook_errors_name_file_entry_and_field(tmp_path, remplacer, attendu):
    chemin = _ecrire(tmp_path, BASE.replace(*remplacer))
    with pytest.raises(ErreurDonnees) as exc:
        charger_codebook(chemin)
    msg = str(exc.value)
    assert str(chemin) in msg and "'x'" in msg and attendu in msg


def test_duplicate_entry_is_an_error(tmp_path):
    chemin = _ecrire(tmp_path, BASE + BASE)
    with pytest.raises(ErreurDonnees, match="défini deux fois"):
        charger_codebook(chemin)


def test_user_adds_an_indicator_by_editing_the_codebook(tmp_path):
    chemin = _ecrire(tmp_path, BASE)
    cb = charger_codebook(chemin)
    t = pd.DataFrame({"code_iris": ["A"], "annee": [2016], "a": [5.0], "b": [20.0]})
    r = indicateurs_comptages(t, {"iris": None}, codebook=cb)
    assert r["valeur"].tolist() == [25.0]


def test_unknown_selection_lists_known_ids():
    with pytest.raises(ErreurDonnees, match="identifiants connus"):
        CODEBOOK.selection(["taux_inconnu"])


def test_to_frame_documents_every_entry():
    df = CODEBOOK.to_frame()
    assert len(df) == len(CODEBOOK)
    ligne = df[(df["indicateur"] == "part_non_diplomes") & (df["sexe"] == "ensemble")].iloc[0]
    assert "≥2016: p_nscol15p_diplmin" in ligne["insee_numerateur"]

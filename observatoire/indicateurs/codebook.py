"""Indicator codebook: indicators are data (a packaged YAML file), not code.

The codebook lists one entry per indicator × sex with its label, pillar, type,
unit, direction, publication threshold and, for each kind of source, how to get
it: counts from the official INSEE tables (numerator and denominator as
expressions of normalised variables, with variants per vintage), rates published
without counts (``ptod`` files, consolidated with an approximate denominator),
and the column of the official QPV tables.

Expressions are sums and differences of variable names (``"p_fact1564 -
p_factocc1564"``). A variant maps the first vintage it applies to onto an
expression (or a list of alternatives: the first one whose variables are all
present in the table is used; ``null`` = not available for those vintages).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Literal

import pandas as pd
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from observatoire.rapport import ErreurDonnees

__all__ = [
    "PILIERS",
    "TYPES",
    "SEXES",
    "DIRECTIONS",
    "STATUTS",
    "Expression",
    "Indicateur",
    "Codebook",
    "charger_codebook",
    "chemin_codebook_defaut",
]

PILIERS = (
    "cohésion sociale",
    "cadre de vie et renouvellement urbain",
    "développement économique et emploi",
)
TYPES = ("effectif", "part", "taux", "indice", "mediane")
SEXES = ("ensemble", "F", "H")
DIRECTIONS = ("hausse_defavorable", "baisse_defavorable", "neutre")
#: Status vocabulary used in every output (tables, maps, sheets).
STATUTS = ("officiel", "estime", "estime_corrige", "approximation", "secret", "manquant")

_TERME = re.compile(r"\s*([+-])?\s*([a-z][a-z0-9_]*)\s*")


@dataclass(frozen=True)
class Expression:
    """A signed sum of variables, e.g. ``p_fact1564 - p_factocc1564``.

    Examples
    --------
    >>> e = Expression.lire("p_fact1564 - p_factocc1564")
    >>> e.variables
    ('p_fact1564', 'p_factocc1564')
    >>> t = pd.DataFrame({"p_fact1564": [10.0, 4.0], "p_factocc1564": [8.0, None]})
    >>> e.evaluer(t).tolist()
    [2.0, nan]
    """

    termes: tuple[tuple[int, str], ...]
    texte: str

    @classmethod
    def lire(cls, texte: str) -> Expression:
        """Parse ``"a + b - c"``; raise :class:`ValueError` on anything else."""
        texte = str(texte).strip()
        termes: list[tuple[int, str]] = []
        pos = 0
        while pos < len(texte):
            m = _TERME.match(texte, pos)
            if not m or m.end() == pos:
                raise ValueError(f"expression {texte!r} illisible au caractère {pos}")
            if termes and m[1] is None:
                raise ValueError(f"+ ou - manquant avant {m[2]!r} dans l'expression {texte!r}")
            termes.append((-1 if m[1] == "-" else 1, m[2]))
            pos = m.end()
        if not termes:
            raise ValueError("expression vide")
        return cls(tuple(termes), " ".join(texte.split()))

    @property
    def variables(self) -> tuple[str, ...]:
        """Variables used, in order."""
        return tuple(v for _, v in self.termes)

    def disponible(self, colonnes: Iterable[str]) -> bool:
        """Whether every variable is a column of the table."""
        colonnes = set(colonnes)
        return all(v in colonnes for v in self.variables)

    def evaluer(self, table: pd.DataFrame) -> pd.Series:
        """Evaluate on a table; NaN in any term gives NaN (never treated as 0)."""
        total = None
        for signe, v in self.termes:
            col = table[v].astype("float64")
            total = signe * col if total is None else total + signe * col
        return total

    def __str__(self) -> str:
        return self.texte


def _alternatives(valeur) -> tuple[Expression, ...] | None:
    if valeur is None:
        return None
    if isinstance(valeur, str):
        return (Expression.lire(valeur),)
    if isinstance(valeur, list) and valeur and all(isinstance(v, str) for v in valeur):
        return tuple(Expression.lire(v) for v in valeur)
    raise ValueError(f"attendu : une expression ou une liste d'expressions, reçu {valeur!r}")


class _Variantes(BaseModel):
    """Expression alternatives by first vintage of validity."""

    par_annee: dict[int, tuple[Expression, ...] | None]

    model_config = ConfigDict(arbitrary_types_allowed=True, frozen=True)

    @classmethod
    def lire(cls, valeur) -> _Variantes:
        if isinstance(valeur, dict):
            par = {}
            for cle, v in valeur.items():
                try:
                    annee = int(cle)
                except (TypeError, ValueError):
                    raise ValueError(
                        f"la clé de variante {cle!r} n'est pas un millésime (année)"
                    ) from None
                par[annee] = _alternatives(v)
            if not par:
                raise ValueError("dictionnaire de variantes vide")
            return cls(par_annee=par)
        return cls(par_annee={0: _alternatives(valeur)})

    def pour(self, annee: int) -> tuple[Expression, ...] | None:
        """Alternatives valid for ``annee`` (the latest key ≤ annee), None if none."""
        cles = [k for k in sorted(self.par_annee) if k <= annee]
        if not cles:
            return None
        return self.par_annee[cles[-1]]

    def toutes_variables(self) -> set[str]:
        return {v for alts in self.par_annee.values() if alts for e in alts for v in e.variables}


class SourceInsee(BaseModel):
    """How to compute the indicator from INSEE counts."""

    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True, frozen=True)

    numerateur: _Variantes | None = None
    denominateur: _Variantes | None = None
    valeur: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _lire(cls, data):
        if not isinstance(data, dict):
            raise ValueError(
                "insee doit être un dictionnaire avec numerateur/denominateur ou valeur"
            )
        data = dict(data)
        for cle in ("numerateur", "denominateur"):
            if data.get(cle) is not None and not isinstance(data[cle], _Variantes):
                data[cle] = _Variantes.lire(data[cle])
        return data

    @model_validator(mode="after")
    def _coherent(self):
        if self.valeur is None and self.numerateur is None:
            raise ValueError("insee demande 'numerateur' ou 'valeur'")
        if self.valeur is not None and (self.numerateur or self.denominateur):
            raise ValueError(
                "insee : 'valeur' (statistique publiée) exclut numerateur/denominateur"
            )
        return self


class SourcePtod(BaseModel):
    """A rate published without counts (ptod files)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    colonne: str
    denominateur_approche: str | None = None
    annees: tuple[int, ...] | None = None


class SourceQpv(BaseModel):
    """Column of an official QPV table (:func:`observatoire.chargement.lire_qpv_officiel`)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    colonne: str


class SourceGrille(BaseModel):
    """Columns of a grid (:func:`observatoire.chargement.lire_grille`): numerator, denominator.

    Grid values are sums of cells by cell-area share: the ratio of two sums (never an
    average of cell ratios).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    numerateur: str
    denominateur: str | None = None


class Indicateur(BaseModel):
    """One codebook entry (indicator × sex)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    libelle: str
    pilier: Literal[PILIERS]  # type: ignore[valid-type]
    theme: str
    type: Literal[TYPES]  # type: ignore[valid-type]
    sexe: Literal[SEXES] = "ensemble"  # type: ignore[valid-type]
    unite: str
    facteur: float | None = None
    direction: Literal[DIRECTIONS]  # type: ignore[valid-type]
    seuil_denominateur: float = Field(ge=0)
    additif: bool | None = None
    source: str
    insee: SourceInsee | None = None
    ptod: SourcePtod | None = None
    qpv_officiel: SourceQpv | None = None
    grille: SourceGrille | None = None
    partenaire: str | None = Field(None, description="partner table counted by the run")

    @field_validator("facteur")
    @classmethod
    def _facteur_positif(cls, v):
        if v is not None and v <= 0:
            raise ValueError("facteur doit être > 0")
        return v

    @model_validator(mode="after")
    def _coherent(self):
        if (
            self.insee is None
            and self.ptod is None
            and self.qpv_officiel is None
            and self.grille is None
            and self.partenaire is None
        ):
            raise ValueError(
                "aucune source : donner au moins l'une de insee, ptod, qpv_officiel, grille, "
                "partenaire"
            )
        if self.grille is not None and (self.type == "effectif") != (
            self.grille.denominateur is None
        ):
            raise ValueError(
                "grille : le type effectif ne prend pas de denominateur, les autres types en "
                "demandent un"
            )
        if self.type == "mediane" and self.additif:
            raise ValueError("une médiane ne peut pas être additive")
        if self.est_additif and self.insee is not None:
            if self.insee.valeur is not None:
                raise ValueError("un indicateur additif demande insee numerateur, pas valeur")
            if self.type != "effectif" and self.insee.denominateur is None:
                raise ValueError(f"le type {self.type} demande un denominateur insee")
            if self.type == "effectif" and self.insee.denominateur is not None:
                raise ValueError("le type effectif ne prend pas de denominateur")
        if not self.est_additif and self.insee is not None and self.insee.valeur is None:
            raise ValueError("un indicateur non additif prend insee 'valeur' (statistique publiée)")
        return self

    @property
    def est_additif(self) -> bool:
        """Whether numerator and denominator can be summed/apportioned (never for medians)."""
        if self.additif is not None:
            return self.additif
        return self.type != "mediane"

    @property
    def multiplicateur(self) -> float:
        """Factor applied to numerator/denominator (100 for shares and rates)."""
        if self.facteur is not None:
            return self.facteur
        return 100.0 if self.type in ("part", "taux") else 1.0

    @property
    def cle(self) -> tuple[str, str]:
        """``(id, sexe)``."""
        return (self.id, self.sexe)

    def expressions_insee(
        self, annee: int, colonnes: Iterable[str]
    ) -> tuple[Expression | None, Expression | None]:
        """Numerator and denominator expressions usable for ``annee`` with these columns.

        Returns ``(None, None)`` when the indicator is not computable from the table
        (variables absent or vintage without a definition).
        """
        if self.insee is None or self.insee.numerateur is None:
            return None, None
        colonnes = set(colonnes)
        num = _choisir(self.insee.numerateur.pour(annee), colonnes)
        if num is None:
            return None, None
        if self.type == "effectif":
            return num, None
        den = _choisir(self.insee.denominateur.pour(annee), colonnes)
        if den is None:
            return None, None
        return num, den


def _choisir(alternatives, colonnes) -> Expression | None:
    if not alternatives:
        return None
    for e in alternatives:
        if e.disponible(colonnes):
            return e
    return None


class Codebook:
    """Validated list of :class:`Indicateur`, looked up by ``(id, sexe)``.

    Examples
    --------
    >>> cb = charger_codebook()
    >>> len(cb) >= 25
    True
    >>> cb["taux_chomage_1564", "F"].direction
    'hausse_defavorable'
    """

    def __init__(self, indicateurs: Iterable[Indicateur], *, source: str = "<codebook>"):
        self.source = source
        self._liste = list(indicateurs)
        self._index: dict[tuple[str, str], Indicateur] = {}
        for ind in self._liste:
            if ind.cle in self._index:
                raise ErreurDonnees(
                    f"{source} : indicateur {ind.id!r} (sexe {ind.sexe}) défini deux fois"
                )
            self._index[ind.cle] = ind

    def __len__(self) -> int:
        return len(self._liste)

    def __iter__(self) -> Iterator[Indicateur]:
        return iter(self._liste)

    def __contains__(self, cle) -> bool:
        return self._cle(cle) in self._index

    def __getitem__(self, cle) -> Indicateur:
        k = self._cle(cle)
        if k not in self._index:
            raise KeyError(
                f"indicateur {k[0]!r} (sexe {k[1]}) absent du codebook {self.source} ; "
                f"identifiants connus : {sorted({i.id for i in self._liste})}"
            )
        return self._index[k]

    @staticmethod
    def _cle(cle) -> tuple[str, str]:
        return (cle, "ensemble") if isinstance(cle, str) else tuple(cle)

    def selection(self, ids: Iterable[str] | None = None) -> Codebook:
        """Sub-codebook restricted to these ids (all sexes); error on unknown ids."""
        if ids is None:
            return self
        ids = list(ids)
        connus = {i.id for i in self._liste}
        inconnus = [i for i in ids if i not in connus]
        if inconnus:
            raise ErreurDonnees(
                f"identifiant(s) d'indicateur inconnu(s) {inconnus} ; "
                f"identifiants connus : {sorted(connus)}"
            )
        return Codebook([i for i in self._liste if i.id in ids], source=self.source)

    def to_frame(self) -> pd.DataFrame:
        """One row per indicator × sex, for documentation, tooltips and the XLSX sheet."""
        lignes = []
        for i in self._liste:

            def _txt(v):
                if v is None:
                    return ""
                return "; ".join(
                    f"{'' if a == 0 else f'≥{a}: '}"
                    + (" | ".join(str(e) for e in alts) if alts else "non disponible")
                    for a, alts in sorted(v.par_annee.items())
                )

            lignes.append(
                {
                    "indicateur": i.id,
                    "sexe": i.sexe,
                    "libelle": i.libelle,
                    "pilier": i.pilier,
                    "theme": i.theme,
                    "type": i.type,
                    "unite": i.unite,
                    "facteur": i.multiplicateur,
                    "direction": i.direction,
                    "seuil_denominateur": i.seuil_denominateur,
                    "additif": i.est_additif,
                    "source": i.source,
                    "insee_numerateur": _txt(i.insee.numerateur) if i.insee else "",
                    "insee_denominateur": _txt(i.insee.denominateur) if i.insee else "",
                    "insee_valeur": (i.insee.valeur or "") if i.insee else "",
                    "ptod_colonne": i.ptod.colonne if i.ptod else "",
                    "ptod_denominateur_approche": (i.ptod.denominateur_approche or "")
                    if i.ptod
                    else "",
                    "qpv_officiel_colonne": i.qpv_officiel.colonne if i.qpv_officiel else "",
                }
            )
        return pd.DataFrame(lignes)


def chemin_codebook_defaut() -> Path:
    """Path of the codebook shipped with the package."""
    return Path(str(resources.files("observatoire") / "donnees" / "indicateurs.yaml"))


def charger_codebook(chemin: str | os.PathLike | None = None) -> Codebook:
    """Read and validate a codebook (default: the one shipped with the package).

    Raises
    ------
    ErreurDonnees
        Naming the file, the entry (index and id) and the field at fault.
    """
    chemin = Path(chemin) if chemin is not None else chemin_codebook_defaut()
    if not chemin.is_file():
        raise ErreurDonnees(f"{chemin} : fichier codebook introuvable")
    try:
        brut = yaml.safe_load(chemin.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ErreurDonnees(f"{chemin} : YAML invalide : {exc}") from exc
    if not isinstance(brut, dict) or not isinstance(brut.get("indicateurs"), list):
        raise ErreurDonnees(
            f"{chemin} : attendu : un dictionnaire avec une liste sous 'indicateurs'"
        )
    indicateurs = []
    for n, entree in enumerate(brut["indicateurs"]):
        ident = entree.get("id", "?") if isinstance(entree, dict) else "?"
        try:
            indicateurs.append(Indicateur.model_validate(entree))
        except ValidationError as exc:
            details = "; ".join(
                f"{'.'.join(str(p) for p in e['loc']) or '(entrée)'} : "
                f"{e['msg'].removeprefix('Value error, ')}"
                for e in exc.errors()
            )
            raise ErreurDonnees(f"{chemin} : indicateur n° {n} ({ident!r}) : {details}") from None
        except ValueError as exc:
            raise ErreurDonnees(f"{chemin} : indicateur n° {n} ({ident!r}) : {exc}") from None
    return Codebook(indicateurs, source=str(chemin))

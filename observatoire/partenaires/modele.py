"""Declaration of a partner's table in a territory configuration (``partenaires:``).

A partner (France Travail, mission locale, CAF, a school, a programme) sends a
CSV/XLSX list of people, one row each. The configuration says what the table
means; the observatory counts its rows by neighbourhood::

    partenaires:
      - code: demandeurs_emploi              # indicator id: part_<code>, nb_<code>
        libelle: Demandeurs d'emploi (catégorie A)
        partenaire: France Travail
        source: {source: partenaires/demandeurs_2025.csv}
        annee: 2025
        cle: adresse                         # adresse | coordonnees | code_iris | code_qpv
                                             # | code_commune, or a list in order of
                                             # preference (each row takes the first key
                                             # whose columns it fills)
        colonnes: {adresse: ADRESSE, code_postal: CP, commune: VILLE}
        sexe: {colonne: SEXE, femmes: [F, "2"], hommes: [H, "1"]}
        denominateur: {indicateur: population, facteur: 100}   # optional rate

Column roles by key: ``adresse`` needs ``adresse`` (and optionally ``code_postal``,
``commune``); ``coordonnees`` needs ``x`` and ``y`` and the ``crs`` of the table
(``EPSG:4326`` for longitude/latitude, ``EPSG:2154`` for Lambert-93); each code key
needs the role of its name (``code_iris``, ``code_qpv``, ``code_commune``).
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

__all__ = ["CLES", "SexePartenaire", "DenominateurPartenaire", "TablePartenaire"]

CLES = ("adresse", "coordonnees", "code_iris", "code_qpv", "code_commune")
_ROLES = {
    "adresse": ({"adresse"}, {"code_postal", "commune"}),
    "coordonnees": ({"x", "y"}, set()),
    "code_iris": ({"code_iris"}, set()),
    "code_qpv": ({"code_qpv"}, set()),
    "code_commune": ({"code_commune"}, set()),
}
_PERMIS = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class SexePartenaire(BaseModel):
    """Column holding the sex and the values that mean women and men."""

    model_config = _PERMIS
    colonne: str
    femmes: list[str] = Field(default_factory=lambda: ["F", "2"])
    hommes: list[str] = Field(default_factory=lambda: ["H", "M", "1"])

    @field_validator("femmes", "hommes", mode="before")
    @classmethod
    def _textes(cls, v):
        return [str(x) for x in v]


class DenominateurPartenaire(BaseModel):
    """Rate = facteur × count / an indicator of the run for the same territory."""

    model_config = _PERMIS
    indicateur: str = Field(description="codebook id of a head count (e.g. population)")
    facteur: float = Field(100, gt=0)


class TablePartenaire(BaseModel):
    """One partner table of a territory (see the module docstring)."""

    model_config = _PERMIS
    code: str
    libelle: str
    partenaire: str
    source: dict[str, Any] = Field(description="{source: id or path[, couche]}")
    annee: int = Field(ge=1990, le=2100)
    cle: list[Literal["adresse", "coordonnees", "code_iris", "code_qpv", "code_commune"]]
    colonnes: dict[str, str]
    crs: str | None = None
    sexe: SexePartenaire | None = None
    poids: str | None = Field(None, description="column of row weights (default 1 per row)")
    denominateur: DenominateurPartenaire | None = None
    pilier: Literal[
        "cohésion sociale",
        "cadre de vie et renouvellement urbain",
        "développement économique et emploi",
    ] = "cohésion sociale"
    seuil_secret: float = Field(11, ge=0, description="counts under it are not published")
    score_min: float = Field(
        0.6, ge=0, le=1, description="geocoding score under which a row is not placed"
    )
    geocodeur: str = Field(
        "https://api-adresse.data.gouv.fr/search/csv/",
        description="batch CSV geocoder of the Base Adresse Nationale",
    )
    ventiler: bool = Field(
        False,
        description="apportion rows coded by IRIS into the QPV and "
        "veille zones with the run's weights (status estime)",
    )

    @field_validator("source", mode="before")
    @classmethod
    def _source(cls, v):
        v = {"source": v} if isinstance(v, str) else v
        if not isinstance(v, dict) or not str(v.get("source") or "").strip():
            raise ValueError("expected a source id or path, or {source: ..., couche: ...}")
        return v

    @property
    def ref(self):
        """The table's input as a :class:`observatoire.config.SourceRef`."""
        from observatoire.config import SourceRef

        return SourceRef.model_validate(self.source)

    @field_validator("cle", mode="before")
    @classmethod
    def _cles(cls, v):
        v = [v] if isinstance(v, str) else v
        if not v or len(set(v)) != len(v):
            raise ValueError(f"cle: one key or a list of distinct keys among {list(CLES)}")
        return v

    @field_validator("code")
    @classmethod
    def _code(cls, v):
        if not re.fullmatch(r"[a-z][a-z0-9_]*", v):
            raise ValueError(f"{v!r} is not an indicator code (lower case, digits, '_')")
        return v

    @model_validator(mode="after")
    def _colonnes(self):
        tous = set()
        for cle in self.cle:
            requis, facultatifs = _ROLES[cle]
            tous |= requis | facultatifs
            manque = sorted(requis - set(self.colonnes))
            if manque:
                raise ValueError(
                    f"cle {cle}: colonnes needs {sorted(requis)} (missing "
                    f"{manque}; optional {sorted(facultatifs)})"
                )
        inconnus = sorted(set(self.colonnes) - tous)
        if inconnus:
            raise ValueError(
                f"cle {self.cle}: unknown column role(s) {inconnus} (expected {sorted(tous)})"
            )
        if "coordonnees" in self.cle and self.crs is None:
            raise ValueError(
                "cle coordonnees: give the crs of the table (EPSG:4326 for "
                "longitude/latitude, EPSG:2154 for Lambert-93)"
            )
        return self

    @property
    def id_effectif(self) -> str:
        """Indicator id of the count."""
        return f"nb_{self.code}"

    @property
    def id_taux(self) -> str:
        """Indicator id of the rate (when a denominator is named)."""
        return f"part_{self.code}"

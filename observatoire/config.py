"""Territory configuration: a YAML file validated by pydantic models.

A configuration says *what* the yearly run computes for one territory: its
communes and EPCI, its QPV (codes, generation, perimeter file), its veille
territories (a perimeter file, or a set of IRIS with optional shares, possibly
minus other zones), the comparison levels, the indicators, the years, the
weighting method, the output formats and the partners' tables. It names its input
files by source id (resolved by :func:`observatoire.sources.chemin_source`, from
the cache or a local store given with ``--from``) or by path (relative to the YAML
file); :attr:`SourceRef.est_chemin` is the one rule telling them apart.

This module owns every model of the YAML file (the partners' tables included), so it
imports nothing else of the package; :mod:`observatoire.sources` reads territories
through :func:`charger_config`.

Errors name the bad key and the expected form::

    configs/x.yaml: qpv.liste[2].code: 'QN0136' is not a QPV code
    (expected 'QN' or 'QP' + 6 characters, e.g. QN01365M)

Checks that need data (unknown QPV code, IRIS absent from the geography, missing
file, year the sources do not hold) live in :mod:`observatoire.run.verification`.
"""

from __future__ import annotations

import os
import re
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

__all__ = [
    "ErreurConfig",
    "SourceRef",
    "EPCI",
    "QPV",
    "PerimetreQPV",
    "BlocQPV",
    "Veille",
    "Ponderation",
    "Sorties",
    "SexePartenaire",
    "DenominateurPartenaire",
    "TablePartenaire",
    "ConfigTerritoire",
    "ROLES_SOURCES",
    "NIVEAUX_COMPARAISON",
    "FORMATS_TABLES",
    "CLES_PARTENAIRES",
    "CONFIG_DEFAUT",
    "configs_disponibles",
    "chemin_config",
    "charger_config",
    "config_depuis_dict",
]


class ErreurConfig(ValueError):
    """Invalid territory configuration: the message names the key and the expected form."""


#: Input roles a configuration may name under ``sources:`` and what each is for.
ROLES_SOURCES: dict[str, str] = {
    "iris": "IRIS contour layer used for the weights (full resolution for local runs)",
    "iris_statistiques": "IRIS contour layer of the statistics' edition (IRIS redrawn or "
    "recoded between the two editions lower the reliability of zone "
    "estimates)",
    "qpv_entrainement": "QPV perimeters of the département with official values: training set "
    "of the dilution correction of IRIS rates",
    "communes": "commune boundaries (maps, commune reference)",
    "departement": "département boundary (maps)",
    "epci": "EPCI perimeter (maps; the EPCI itself is aggregated from its communes' IRIS)",
    "qpv_officiel": "official QPV-level indicator table (values of record for QPV)",
    "indicateurs_iris": "IRIS-level indicator table (rates + population per vintage)",
    "indicateurs_communes": "commune-level indicator table (official commune references)",
    "indicateurs_departements": "département/France indicator table (official references)",
    "population_iris": "INSEE RP IRIS table: population by age and CSP (counts)",
    "menages_iris": "INSEE RP IRIS table: households and families (counts)",
    "logement_iris": "INSEE RP IRIS table: housing (counts)",
    "activite_iris": "INSEE RP IRIS table: activity of residents (counts)",
    "diplomes_iris": "INSEE RP IRIS table: diplomas and education (counts)",
    "revenus_iris": "INSEE RFL/Filosofi IRIS income table",
    "grille": "INSEE 200 m population grid (dasymetric weights; CSV with INSPIRE cell ids "
    "or a vector grid)",
    "dictionnaire": "data dictionary of the indicator tables",
}

NIVEAUX_COMPARAISON = ("commune", "epci", "departement", "france")
FORMATS_TABLES = ("csv", "parquet", "gpkg", "xlsx")
METHODES_PONDERATION = ("surface", "dasymetric", "calibrated")

_RE_QPV = re.compile(r"^Q[NP][0-9A-Z]{6}$")
_RE_IRIS = re.compile(r"^[0-9][0-9AB][0-9]{7}$")
_RE_COMMUNE = re.compile(r"^[0-9][0-9AB][0-9]{3}$")
_RE_CODE_TERRITOIRE = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
_RE_CODE_ZONE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")

_PERMIS = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class _ChargeurStrict(yaml.SafeLoader):
    """YAML safe loader refusing a key given twice in one mapping."""


def _mapping_sans_doublon(chargeur: _ChargeurStrict, noeud: yaml.MappingNode, deep=False):
    vus: dict = {}
    for cle_noeud, _ in noeud.value:
        cle = chargeur.construct_object(cle_noeud, deep=deep)
        try:
            hash(cle)
        except TypeError:
            continue
        if cle in vus:
            raise yaml.constructor.ConstructorError(
                None,
                None,
                f"clé {cle!r} donnée deux fois dans le même bloc (première à la ligne "
                f"{vus[cle] + 1} ; la seconde remplacerait la première sans prévenir)",
                cle_noeud.start_mark,
            )
        vus[cle] = cle_noeud.start_mark.line
    return chargeur.construct_mapping(noeud, deep=deep)


_ChargeurStrict.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping_sans_doublon
)


def yaml_strict(texte: str):
    """Parse YAML like ``yaml.safe_load`` but refuse duplicate keys.

    Examples
    --------
    >>> yaml_strict("{a: 1, b: 2}")
    {'a': 1, 'b': 2}
    >>> yaml_strict("{a: 1, a: 2}")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    yaml.constructor.ConstructorError: clé 'a' donnée deux fois dans le même bloc (première à la \
ligne 1 ; la seconde remplacerait la première sans prévenir)
    ...
    """
    return yaml.load(texte, Loader=_ChargeurStrict)  # noqa: S506 - a SafeLoader subclass


def _en_texte(v):
    """Accept YAML integers for codes (``13047``) but keep them as text."""
    if isinstance(v, bool):
        return v
    if isinstance(v, int):
        return str(v)
    return v


def _commune(v: str) -> str:
    v = str(v).strip()
    if len(v) == 4 and v.isdigit():  # 1001 written without its leading zero
        v = v.zfill(5)
    if not _RE_COMMUNE.match(v):
        raise ValueError(
            f"{v!r} n'est pas un code commune (attendu : 5 caractères, par ex. '13047')"
        )
    return v


def _iris(v: str) -> str:
    v = str(v).strip()
    if len(v) == 8 and v.isdigit():
        v = v.zfill(9)
    if not _RE_IRIS.match(v):
        raise ValueError(
            f"{v!r} n'est pas un code IRIS (attendu : 9 caractères, par ex. '130470106')"
        )
    return v


def _qpv(v: str) -> str:
    v = str(v).strip()
    if not _RE_QPV.match(v):
        raise ValueError(
            f"{v!r} n'est pas un code QPV (attendu : 'QN' ou 'QP' + 6 caractères, "
            "par ex. 'QN01365M')"
        )
    return v


CodeCommune = Annotated[str, BeforeValidator(_en_texte)]
CodeTexte = Annotated[str, BeforeValidator(_en_texte)]


Annee = Annotated[int, Field(ge=1990, le=2100)]


class SourceRef(BaseModel):
    """An input: a source id of the registry, or a file path (relative to the YAML file).

    A plain string in YAML is accepted for ``source``.
    """

    model_config = _PERMIS
    source: str = Field(description="source id (observatoire data list) or file path")
    couche: str | None = Field(None, description="layer name for multi-layer files")
    edition: int | None = Field(
        None, ge=1990, le=2100, description="edition of the IRIS geography of the file"
    )
    annee_valeurs: int | None = Field(
        None,
        ge=1990,
        le=2100,
        description="vintage of the values, when the file does not state it (QPV tables)",
    )
    annees_colonnes: dict[str, Annee] = Field(
        default_factory=dict,
        description="vintage of some columns when it differs from annee_valeurs "
        "(column of the normalised table → year, e.g. {taux_pauvrete_60: 2021})",
    )

    @model_validator(mode="before")
    @classmethod
    def _texte(cls, v):
        if isinstance(v, str):
            return {"source": v}
        return v

    @property
    def est_chemin(self) -> bool:
        """True when ``source`` is a path rather than a registry id."""
        s = self.source
        return (
            "/" in s
            or "\\" in s
            or Path(s).suffix.lower()
            in {".gpkg", ".geojson", ".json", ".shp", ".parquet", ".csv", ".xlsx", ".zip", ".7z"}
        )


class EPCI(BaseModel):
    """The intercommunality: code, name, member communes (code → name)."""

    model_config = _PERMIS
    code: CodeTexte = Field(description="SIREN, 9 digits")
    nom: str
    communes: dict[CodeCommune, str] = Field(min_length=1)
    note: str | None = None

    @field_validator("code")
    @classmethod
    def _siren(cls, v):
        if not re.fullmatch(r"\d{9}", v):
            raise ValueError(
                f"{v!r} n'est pas un code SIREN d'EPCI (attendu : 9 chiffres, par ex. '241300177')"
            )
        return v

    @field_validator("communes", mode="before")
    @classmethod
    def _communes(cls, v):
        if isinstance(v, list):  # a plain list of codes is accepted
            v = {c: "" for c in v}
        if isinstance(v, dict):
            return {_commune(_en_texte(k)): ("" if n is None else str(n)) for k, n in v.items()}
        return v


class QPV(BaseModel):
    """One QPV of the territory."""

    model_config = _PERMIS
    code: CodeTexte
    nom: str | None = None
    commune: CodeCommune | None = None

    @model_validator(mode="before")
    @classmethod
    def _texte(cls, v):
        return {"code": v} if isinstance(v, str) else v

    @field_validator("code")
    @classmethod
    def _code(cls, v):
        return _qpv(v)

    @field_validator("commune")
    @classmethod
    def _com(cls, v):
        return None if v is None else _commune(v)

    @property
    def generation(self) -> int:
        """2024 for ``QN…`` codes, 2015 for ``QP…`` codes."""
        return 2024 if self.code.startswith("QN") else 2015


class PerimetreQPV(SourceRef):
    """A QPV perimeter file and the QPV generation it holds."""

    generation: Literal[2015, 2024]


class BlocQPV(BaseModel):
    """QPV of the territory: perimeter files, codes, official table."""

    model_config = _PERMIS
    perimetres: list[PerimetreQPV] = Field(min_length=1)
    liste: list[QPV] | Literal["all"] = Field(
        description="QPV codes, or 'all' = every QPV of the perimeter files in the territory"
    )

    @model_validator(mode="after")
    def _coherence(self):
        gens = {p.generation for p in self.perimetres}
        if self.liste != "all":
            codes = [q.code for q in self.liste]
            doublons = sorted({c for c in codes if codes.count(c) > 1})
            if doublons:
                raise ValueError(f"QPV cités deux fois : {doublons}")
            sans = sorted({q.code for q in self.liste if q.generation not in gens})
            if sans:
                raise ValueError(
                    f"QPV {sans} d'une génération sans fichier de périmètres "
                    f"(générations données par perimetres : {sorted(gens)})"
                )
        return self


class Veille(BaseModel):
    """A veille territory: a perimeter file, or a set of IRIS (optionally minus other zones)."""

    model_config = _PERMIS
    code: CodeTexte
    nom: str
    commune: CodeCommune
    perimetre: SourceRef | None = None
    iris: dict[CodeTexte, float] | None = Field(
        None, description="IRIS code → share of the IRIS in the zone (list = share 1)"
    )
    moins: list[CodeTexte] = Field(
        default_factory=list, description="zones (QPV or veille codes) taken out of the IRIS set"
    )
    statut: Literal["estime", "approximation"] = "estime"
    chevauchements: Literal["signaler", "ignorer"] = "signaler"
    notes: list[str] = Field(default_factory=list)

    @field_validator("code")
    @classmethod
    def _code(cls, v):
        if not _RE_CODE_ZONE.match(v):
            raise ValueError(
                f"{v!r} n'est pas un code de zone (attendu : lettres, chiffres, '_' ou '-')"
            )
        return v

    @field_validator("commune")
    @classmethod
    def _com(cls, v):
        return _commune(v)

    @field_validator("iris", mode="before")
    @classmethod
    def _iris_liste(cls, v):
        if v is None:
            return v
        if isinstance(v, list | dict) and not v:
            raise ValueError(
                "ensemble d'IRIS vide (attendu : au moins un code IRIS, ou retirer "
                "la clé et donner un 'perimetre')"
            )
        if isinstance(v, list):
            v = {c: 1.0 for c in v}
        if isinstance(v, dict):
            out = {}
            for k, part in v.items():
                code = _iris(_en_texte(k))
                if part is None:
                    part = 1.0
                if isinstance(part, bool) or not isinstance(part, int | float):
                    raise ValueError(
                        f"part de l'IRIS {code} : {part!r} n'est pas un nombre de ]0, 1]"
                    )
                if not 0 < float(part) <= 1:
                    raise ValueError(f"part de l'IRIS {code} : {part} n'est pas dans ]0, 1]")
                out[code] = float(part)
            return out
        return v

    @model_validator(mode="after")
    def _un_seul(self):
        if (self.perimetre is None) == (self.iris is None):
            raise ValueError(
                "donner exactement une des clés 'perimetre' (un fichier) ou 'iris' "
                "(un ensemble d'IRIS)"
            )
        if self.moins and self.iris is None:
            raise ValueError("'moins' ne s'applique qu'à une zone définie par 'iris'")
        return self


class Ponderation(BaseModel):
    """Weighting method and thresholds (see the weights engine)."""

    model_config = _PERMIS
    methode: Literal["surface", "dasymetric", "calibrated"] | None = Field(
        None,
        description="default: calibrated when sources.qpv_officiel is given, else "
        "dasymetric when sources.grille is given, else surface",
    )
    part_min: float = Field(0.005, ge=0, lt=1, description="sliver threshold (share of the zone)")
    population_min_qpv: float = Field(
        1000, ge=0, description="QPV estimated below this population are flagged implausible"
    )


class Sorties(BaseModel):
    """What the run writes."""

    model_config = _PERMIS
    formats: list[Literal["csv", "parquet", "gpkg", "xlsx"]] = Field(
        default_factory=lambda: list(FORMATS_TABLES)
    )
    cartes: bool = True
    fiches: bool = True


CLES_PARTENAIRES = ("adresse", "coordonnees", "code_iris", "code_qpv", "code_commune")
_ROLES_PARTENAIRES = {
    "adresse": ({"adresse"}, {"code_postal", "commune"}),
    "coordonnees": ({"x", "y"}, set()),
    "code_iris": ({"code_iris"}, set()),
    "code_qpv": ({"code_qpv"}, set()),
    "code_commune": ({"code_commune"}, set()),
}


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
    """One partner table of a territory (``partenaires:``).

    A partner sends a CSV/XLSX list of people, one row each; the table says what its
    rows mean and the run counts them by neighbourhood::

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
            raise ValueError(
                "attendu : un identifiant de source ou un chemin, ou {source: ..., couche: ...}"
            )
        return v

    @property
    def ref(self) -> SourceRef:
        """The table's input as a :class:`SourceRef`."""
        return SourceRef.model_validate(self.source)

    @field_validator("cle", mode="before")
    @classmethod
    def _cles(cls, v):
        v = [v] if isinstance(v, str) else v
        if not v or len(set(v)) != len(v):
            raise ValueError(
                f"cle : une clé ou une liste de clés distinctes parmi {list(CLES_PARTENAIRES)}"
            )
        return v

    @field_validator("code")
    @classmethod
    def _code(cls, v):
        if not re.fullmatch(r"[a-z][a-z0-9_]*", v):
            raise ValueError(f"{v!r} n'est pas un code d'indicateur (minuscules, chiffres, '_')")
        return v

    @model_validator(mode="after")
    def _colonnes(self):
        tous = set()
        for cle in self.cle:
            requis, facultatifs = _ROLES_PARTENAIRES[cle]
            tous |= requis | facultatifs
            manque = sorted(requis - set(self.colonnes))
            if manque:
                raise ValueError(
                    f"cle {cle} : colonnes doit donner {sorted(requis)} (manquant : "
                    f"{manque} ; facultatifs : {sorted(facultatifs)})"
                )
        inconnus = sorted(set(self.colonnes) - tous)
        if inconnus:
            raise ValueError(
                f"cle {self.cle} : rôle(s) de colonne inconnu(s) {inconnus} "
                f"(attendu : {sorted(tous)})"
            )
        if "coordonnees" in self.cle and self.crs is None:
            raise ValueError(
                "cle coordonnees : donner le crs de la table (EPSG:4326 pour "
                "longitude/latitude, EPSG:2154 pour Lambert-93)"
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


class ConfigTerritoire(BaseModel):
    """A whole territory configuration (see ``observatoire/configs/*.yaml``)."""

    model_config = _PERMIS
    code: str = Field(description="folder name of the outputs: lower case, digits, '_' or '-'")
    nom: str
    departement: CodeTexte
    epci: EPCI
    sources: dict[str, SourceRef]
    qpv: BlocQPV
    veille: list[Veille] = Field(default_factory=list)
    niveaux_comparaison: list[Literal["commune", "epci", "departement", "france"]] = Field(
        default_factory=lambda: list(NIVEAUX_COMPARAISON)
    )
    indicateurs: list[str] | Literal["all"] = "all"
    annees: list[int] | Literal["all"] = "all"
    ecart_min_annees: int = Field(5, ge=0, le=50)
    ponderation: Ponderation = Field(default_factory=Ponderation)
    sorties: Sorties = Field(default_factory=Sorties)
    partenaires: list[TablePartenaire] = Field(default_factory=list)
    #: Folder of the YAML file (relative paths are resolved against it); not a YAML key.
    dossier_config: Path | None = Field(None, exclude=True)

    @field_validator("code")
    @classmethod
    def _code(cls, v):
        if not _RE_CODE_TERRITOIRE.match(v):
            raise ValueError(
                f"{v!r} n'est pas un code de territoire (attendu : minuscules, chiffres, '_' ou "
                "'-', par ex. 'san_ouest_provence')"
            )
        return v

    @field_validator("departement")
    @classmethod
    def _dep(cls, v):
        if not re.fullmatch(r"[0-9][0-9AB]|97[1-6]", v):
            raise ValueError(
                f"{v!r} n'est pas un code de département (attendu : par ex. '13', '2A', '974')"
            )
        return v

    @field_validator("sources")
    @classmethod
    def _roles(cls, v):
        inconnus = sorted(set(v) - set(ROLES_SOURCES))
        if inconnus:
            raise ValueError(
                f"rôle(s) de source inconnu(s) {inconnus} (attendu : parmi {sorted(ROLES_SOURCES)})"
            )
        if "iris" not in v:
            raise ValueError("la source 'iris' (couche des contours IRIS) est obligatoire")
        return v

    @field_validator("indicateurs")
    @classmethod
    def _indicateurs(cls, v):
        if v != "all" and not v:
            raise ValueError(
                "liste vide (attendu : des identifiants d'indicateurs du codebook, ou all)"
            )
        if v != "all" and len(set(v)) != len(v):
            raise ValueError(
                f"indicateurs cités deux fois : {sorted({i for i in v if v.count(i) > 1})}"
            )
        return v

    @field_validator("annees")
    @classmethod
    def _annees(cls, v):
        if v == "all":
            return v
        if not v:
            raise ValueError(
                "liste vide (attendu : des millésimes du recensement comme [2016, 2022], ou all)"
            )
        mauvaises = [a for a in v if not 1990 <= a <= 2100]
        if mauvaises:
            raise ValueError(
                f"{mauvaises} ne sont pas des millésimes du recensement "
                "(attendu : par ex. [2011, 2016, 2022])"
            )
        if len(set(v)) != len(v):
            raise ValueError(f"années citées deux fois : {v}")
        return sorted(v)

    @field_validator("niveaux_comparaison")
    @classmethod
    def _niveaux(cls, v):
        if len(set(v)) != len(v):
            raise ValueError(f"niveaux cités deux fois : {v}")
        return v

    @model_validator(mode="after")
    def _zones(self):
        codes_qpv = [] if self.qpv.liste == "all" else [q.code for q in self.qpv.liste]
        codes_veille = [v.code for v in self.veille]
        doublons = sorted({c for c in codes_veille if codes_veille.count(c) > 1})
        if doublons:
            raise ValueError(f"veille : codes de zone cités deux fois : {doublons}")
        # zone codes name output files: unique across QPV and veille, whatever the case
        minuscules: dict[str, str] = {}
        for c in codes_qpv + codes_veille:
            autre = minuscules.setdefault(c.lower(), c)
            if autre != c or (c in codes_veille and c in codes_qpv):
                raise ValueError(
                    f"code de zone {c!r} utilisé deux fois (les QPV et les zones de veille "
                    "nomment des fichiers de sortie : leurs codes doivent différer, y compris en "
                    f"majuscules/minuscules ; conflit avec {autre!r})"
                )
        # an EPCI may straddle départements, but its département holds member communes
        deps = sorted({_departement_commune(c) for c in self.epci.communes})
        if self.departement not in deps:
            raise ValueError(
                f"departement : {self.departement!r} mais les communes membres (epci.communes) "
                f"sont dans le(s) département(s) {deps} (attendu : le département des communes "
                "membres)"
            )
        communes = set(self.epci.communes)
        for i, v in enumerate(self.veille):
            if v.commune not in communes:
                raise ValueError(
                    f"veille[{i}] ({v.code}) : la commune {v.commune} n'est pas membre de l'EPCI "
                    f"(epci.communes : {sorted(communes)})"
                )
            for m in v.moins:
                if m == v.code:
                    raise ValueError(
                        f"veille[{i}] ({v.code}) : une zone ne peut pas se retirer d'elle-même"
                    )
                if (
                    m not in codes_veille
                    and not (self.qpv.liste == "all" and _RE_QPV.match(m))
                    and m not in codes_qpv
                ):
                    raise ValueError(
                        f"veille[{i}] ({v.code}).moins : {m!r} n'est ni un QPV de qpv.liste "
                        f"ni une zone de veille ({sorted(codes_qpv + codes_veille)})"
                    )
        if self.qpv.liste != "all":
            for i, q in enumerate(self.qpv.liste):
                if q.commune is not None and q.commune not in communes:
                    raise ValueError(
                        f"qpv.liste[{i}] ({q.code}) : la commune {q.commune} n'est pas "
                        f"membre de l'EPCI ({sorted(communes)})"
                    )
        ordre = _ordre_moins(self.veille)
        if ordre != list(self.veille):
            # a zone taken out (moins:) is computed before the zones it is taken out of
            object.__setattr__(self, "veille", ordre)
        return self

    # -- convenience -------------------------------------------------------------------------
    @property
    def codes_communes(self) -> list[str]:
        """Member commune codes, sorted."""
        return sorted(self.epci.communes)

    @property
    def codes_qpv(self) -> list[str] | None:
        """Listed QPV codes (``None`` when ``liste: all``)."""
        return None if self.qpv.liste == "all" else [q.code for q in self.qpv.liste]

    def entrees(self) -> dict[str, SourceRef]:
        """Return every input of the configuration: key → :class:`SourceRef`.

        Keys name where the input is given (``sources.iris``, ``qpv.perimetres[0]``,
        ``veille[2].perimetre``, ``partenaires[0].source``), in the order of the file.
        """
        out: dict[str, SourceRef] = {f"sources.{r}": ref for r, ref in self.sources.items()}
        out |= {f"qpv.perimetres[{i}]": p for i, p in enumerate(self.qpv.perimetres)}
        out |= {
            f"veille[{i}].perimetre": v.perimetre
            for i, v in enumerate(self.veille)
            if v.perimetre is not None
        }
        out |= {f"partenaires[{i}].source": t.ref for i, t in enumerate(self.partenaires)}
        return out

    @property
    def ids_sources(self) -> list[str]:
        """Source ids the configuration names (paths left out), once each, in file order."""
        return list(dict.fromkeys(r.source for r in self.entrees().values() if not r.est_chemin))

    @property
    def methode_ponderation(self) -> str:
        """Weighting method of the QPV: the configured one, else the best the inputs allow.

        Calibrated on the official QPV populations when ``sources.qpv_officiel`` is given
        (on the grid weights when ``sources.grille`` is given too), else dasymetric with a
        grid, else surface.
        """
        if self.ponderation.methode is not None:
            return self.ponderation.methode
        if "qpv_officiel" in self.sources:
            return "calibrated"
        return "dasymetric" if "grille" in self.sources else "surface"

    def parametres(self) -> dict:
        """Return the configuration as plain JSON-ready data (for the manifest)."""
        return self.model_dump(mode="json")


def _departement_commune(code: str) -> str:
    """Département of a commune code (``97411`` → ``974``, ``2A004`` → ``2A``)."""
    return code[:3] if code.startswith("97") else code[:2]


def _ordre_moins(veille: list[Veille]) -> list[Veille]:
    """Order veille zones so that every zone of a ``moins:`` comes before its users.

    The order of the file is kept where no ``moins:`` forces another; a cycle
    (``A moins B``, ``B moins A``) is an error.
    """
    par_code = {v.code: v for v in veille}
    ordre: list[Veille] = []
    etat: dict[str, int] = {}  # 1 = being placed, 2 = placed

    def placer(v: Veille, chemin: list[str]) -> None:
        if etat.get(v.code) == 2:
            return
        if etat.get(v.code) == 1:
            cycle = " → ".join([*chemin[chemin.index(v.code) :], v.code])
            raise ValueError(
                f"veille : les zones 'moins' forment un cycle : {cycle} (attendu : chaque zone "
                "retirée d'autres zones sans revenir à elle-même)"
            )
        etat[v.code] = 1
        for m in v.moins:
            if m in par_code:
                placer(par_code[m], [*chemin, v.code])
        etat[v.code] = 2
        ordre.append(v)

    for v in veille:
        placer(v, [])
    return ordre


# -- loading ---------------------------------------------------------------------------------


#: pydantic bound errors → (French words, ctx key of the bound)
_BORNES = {
    "greater_than_equal": ("supérieure ou égale à", "ge"),
    "greater_than": ("strictement supérieure à", "gt"),
    "less_than_equal": ("inférieure ou égale à", "le"),
    "less_than": ("strictement inférieure à", "lt"),
}


def _attendu(err: dict) -> str:
    """Turn one pydantic error into 'what was expected' words."""
    typ = err["type"]
    ctx = err.get("ctx") or {}
    if typ == "extra_forbidden":
        return "clé inconnue (faute de frappe ? voir les clés documentées dans docs/run.md)"
    if typ == "missing":
        return "clé obligatoire absente"
    if typ == "literal_error":
        # pydantic gives "'a', 'b' or 'c'": only the last separator is a word
        attendus = " ou ".join(str(ctx.get("expected")).rsplit(" or ", 1))
        return f"reçu {err.get('input')!r}, attendu : une valeur parmi {attendus}"
    if typ in ("int_parsing", "int_type", "int_from_float"):
        return f"reçu {err.get('input')!r}, attendu : un entier"
    if typ in ("float_parsing", "float_type"):
        return f"reçu {err.get('input')!r}, attendu : un nombre"
    if typ in ("bool_parsing", "bool_type"):
        return f"reçu {err.get('input')!r}, attendu : true ou false"
    if typ in ("string_type",):
        return f"reçu {err.get('input')!r}, attendu : du texte"
    if typ in ("list_type",):
        return f"reçu {err.get('input')!r}, attendu : une liste"
    if typ in ("dict_type", "model_type", "model_attributes_type"):
        return f"reçu {err.get('input')!r}, attendu : un dictionnaire (clé: valeur)"
    if typ == "too_short":
        return "attendu : au moins un élément"
    if typ in _BORNES:
        mot, cle = _BORNES[typ]
        return f"reçu {err.get('input')!r}, attendu : une valeur {mot} {ctx.get(cle)}"
    msg = err["msg"]
    return msg.removeprefix("Value error, ")


def _cle(loc: tuple) -> str:
    out = ""
    for p in loc:
        if isinstance(p, int):
            out += f"[{p}]"
        elif p in ("literal['all']", "function-before[_texte(), str]"):
            continue
        elif str(p).startswith(("list[", "dict[", "function-", "literal[")):
            continue
        else:
            out += ("." if out else "") + str(p)
    return out or "(racine)"


def _message(err: ValidationError, origine: str) -> str:
    vus: dict[str, str] = {}
    litteraux: set[str] = set()
    for e in err.errors():
        cle = _cle(e["loc"])
        # Union branches ('all' | list) produce one error per branch: keep the most specific.
        if cle in vus and e["type"] == "literal_error":
            continue
        vus[cle] = _attendu(e)
        if e["type"] == "literal_error":
            litteraux.add(cle)
    for cle in litteraux:
        if any(k != cle and k.startswith((cle + "[", cle + ".")) for k in vus):
            del vus[cle]
    lignes = [f"{cle} : {quoi}" for cle, quoi in vus.items()]
    tete = f"configuration invalide {origine}"
    if len(lignes) == 1:
        return f"{tete} : {lignes[0]}"
    return tete + " :\n  " + "\n  ".join(lignes)


def config_depuis_dict(
    donnees: dict, *, origine: str = "(dict)", dossier: Path | None = None
) -> ConfigTerritoire:
    """Validate a configuration given as a dict (as read from YAML).

    Raises
    ------
    ErreurConfig
        Naming every bad key and the expected form.

    Examples
    --------
    >>> d = {"code": "t", "nom": "T", "departement": 13,
    ...      "epci": {"code": "241300177", "nom": "E", "communes": [13047]},
    ...      "sources": {"iris": "iris.gpkg"},
    ...      "qpv": {"perimetres": [{"source": "q.geojson", "generation": 2024}],
    ...              "liste": ["QN01365M"]}}
    >>> config_depuis_dict(d).codes_communes
    ['13047']
    >>> d["qpv"]["liste"] = ["QN0136"]
    >>> config_depuis_dict(d)
    Traceback (most recent call last):
    ...
    observatoire.config.ErreurConfig: configuration invalide (dict) : qpv.liste[0].code : \
'QN0136' n'est pas un code QPV (attendu : 'QN' ou 'QP' + 6 caractères, par ex. 'QN01365M')
    """
    if not isinstance(donnees, dict):
        raise ErreurConfig(
            f"configuration invalide {origine} : reçu {type(donnees).__name__} à la racine, "
            "attendu : un dictionnaire YAML"
        )
    try:
        cfg = ConfigTerritoire.model_validate(donnees)
    except ValidationError as exc:
        raise ErreurConfig(_message(exc, origine)) from None
    if dossier is not None:
        cfg = cfg.model_copy(update={"dossier_config": Path(dossier)})
    return cfg


#: Name (without ``.yaml``) of the configuration used when none is given.
CONFIG_DEFAUT = "san_ouest_provence"


def configs_disponibles() -> list[str]:
    """Names of the configurations shipped with the package."""
    dossier = resources.files("observatoire") / "configs"
    return sorted(p.name[:-5] for p in dossier.iterdir() if p.name.endswith(".yaml"))


def chemin_config(nom_ou_chemin: str | os.PathLike | None = None) -> Path:
    """Return the path of a configuration: a file, or the name of a shipped one."""
    if nom_ou_chemin is None:
        nom_ou_chemin = CONFIG_DEFAUT
    p = Path(nom_ou_chemin).expanduser()
    if p.is_file():
        return p
    livre = Path(str(resources.files("observatoire") / "configs" / f"{nom_ou_chemin}.yaml"))
    if "/" not in str(nom_ou_chemin) and livre.is_file():
        return livre
    raise ErreurConfig(
        f"fichier de configuration introuvable : {nom_ou_chemin} (attendu : un fichier YAML ou "
        f"une des configurations livrées {configs_disponibles()})"
    )


def charger_config(nom_ou_chemin: str | os.PathLike | None = None) -> ConfigTerritoire:
    """Read and validate a territory configuration (YAML).

    Parameters
    ----------
    nom_ou_chemin : str or path, optional
        A YAML file, or the name of a shipped configuration (``san_ouest_provence``,
        ``pays_de_martigues``). Default: SAN Ouest Provence.

    Raises
    ------
    ErreurConfig
        Missing file, YAML syntax error, or invalid content (the message names the key).
    """
    chemin = chemin_config(nom_ou_chemin)
    try:
        donnees = yaml_strict(chemin.read_text(encoding="utf-8"))
    except yaml.constructor.ConstructorError as exc:  # a key given twice
        raise ErreurConfig(f"configuration invalide {chemin} : {exc}") from None
    except yaml.YAMLError as exc:
        raise ErreurConfig(
            f"configuration invalide {chemin} : erreur de syntaxe YAML : {exc}"
        ) from None
    return config_depuis_dict(donnees, origine=str(chemin), dossier=chemin.parent.resolve())

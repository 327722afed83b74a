"""Registry of official sources and local catalogues, read from YAML and validated.

The registry (``registre.yaml``, shipped with the package) lists the official
products the observatory knows: producer, dataset, edition/vintage, download URL
or service endpoint, format, licence, checksum when the producer publishes one.
A local catalogue (``catalogues/*.yaml``) maps the same kind of ids to the files
of a local data store, which never uses the official names. ``socle.yaml`` lists
the ids every territory fetches besides those its configuration names.

Every problem in these files raises :class:`~observatoire.rapport.ErreurDonnees`
naming the file, the entry and the field.
"""

from __future__ import annotations

import os
import re
from functools import lru_cache
from pathlib import Path, PurePosixPath
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from observatoire.config import yaml_strict
from observatoire.rapport import ErreurDonnees

__all__ = [
    "RUBRIQUES",
    "Acces",
    "Source",
    "Registre",
    "EntreeCatalogue",
    "Catalogue",
    "Territoire",
    "charger_registre",
    "charger_catalogue",
    "sources_resume",
    "sources_officielles_socle",
    "DOSSIER_SOURCES",
]

#: Folder holding the packaged YAML files.
DOSSIER_SOURCES = Path(__file__).resolve().parent

#: Cache sub-folders (one per family of data).
RUBRIQUES = ("iris", "qpv_perimetres", "admin", "stats", "grille")

_ID = re.compile(r"^[a-z0-9][a-z0-9_]*$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


class _Modele(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Acces(_Modele):
    """How to obtain a source: one file, a WFS/API request, or by hand."""

    type: Literal["fichier", "wfs", "api", "manuel"]
    url: str | None = None
    parametres: dict[str, str] = Field(default_factory=dict)

    @field_validator("url")
    @classmethod
    def _url_http(cls, v: str | None) -> str | None:
        if v is not None and not re.match(r"^https?://[^\s]+$", v):
            raise ValueError(f"pas une URL http(s) : {v!r}")
        return v

    @model_validator(mode="after")
    def _url_requise(self) -> Acces:
        if self.type != "manuel" and not self.url:
            raise ValueError(f"acces.type {self.type!r} demande acces.url")
        return self


class Source(_Modele):
    """One official source of the registry.

    Examples
    --------
    >>> s = Source(id="x", producteur="IGN", jeu="CONTOURS...IRIS", rubrique="iris",
    ...            acces={"type": "fichier", "url": "https://example.org/a.7z"}, format="7z",
    ...            licence="Licence Ouverte")
    >>> s.telechargeable, s.stable
    (True, True)
    """

    id: str
    producteur: str
    jeu: str
    edition: str | None = None
    millesime: int | None = None
    rubrique: Literal["iris", "qpv_perimetres", "admin", "stats", "grille"]
    acces: Acces
    page: str | None = None
    format: str
    fichier: str | None = None
    crs: str | None = None
    licence: str
    sha256: str | None = None
    stable: bool = True
    verifie: bool = False
    notes: str | None = None

    @field_validator("id")
    @classmethod
    def _id(cls, v: str) -> str:
        if not _ID.match(v):
            raise ValueError(f"l'id {v!r} doit respecter [a-z0-9_]")
        return v

    @field_validator("sha256")
    @classmethod
    def _sha(cls, v: str | None) -> str | None:
        if v is not None and not _SHA256.match(v):
            raise ValueError(f"sha256 doit faire 64 chiffres hexadécimaux minuscules, reçu {v!r}")
        return v

    @model_validator(mode="after")
    def _manuel(self) -> Source:
        if self.acces.type == "manuel" and not (self.page or self.notes):
            raise ValueError(
                "une source manuelle demande une page ou des notes disant où la récupérer"
            )
        return self

    @property
    def telechargeable(self) -> bool:
        """True when the source can be fetched without a human."""
        return self.acces.type != "manuel"


class Registre(_Modele):
    """The list of official sources, indexed by id."""

    chemin: str
    sources: dict[str, Source]

    def __getitem__(self, source_id: str) -> Source:
        try:
            return self.sources[source_id]
        except KeyError:
            raise ErreurDonnees(
                f"{self.chemin} : id de source inconnu {source_id!r} ; ids connus : "
                + ", ".join(sorted(self.sources))
            ) from None

    def __contains__(self, source_id: str) -> bool:
        return source_id in self.sources

    def __len__(self) -> int:
        return len(self.sources)


class EntreeCatalogue(_Modele):
    """One file of a local data store."""

    id: str

    @field_validator("id")
    @classmethod
    def _id_sur(cls, v: str) -> str:
        if not re.match(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", v) or ".." in v:
            raise ValueError(
                f"l'id {v!r} doit être fait de lettres, chiffres, '_', '-' ou '.', sans '..'"
            )
        return v

    chemin: str
    couche: str | None = None
    millesime: int | None = None
    crs: str | None = None
    rubrique: Literal["iris", "qpv_perimetres", "admin", "stats", "grille"]
    sha256: str | None = None
    source_officielle: str | None = None
    provenance: str
    communes_couvertes: list[str] | None = None

    @field_validator("chemin")
    @classmethod
    def _relatif(cls, v: str) -> str:
        p = PurePosixPath(v.replace("\\", "/"))
        if p.is_absolute() or ".." in p.parts or re.match(r"^[A-Za-z]:", v):
            raise ValueError(f"chemin doit être relatif au magasin local, sans '..' : {v!r}")
        return str(p)

    @field_validator("sha256")
    @classmethod
    def _sha(cls, v: str | None) -> str | None:
        if v is not None and not _SHA256.match(v):
            raise ValueError(f"sha256 doit faire 64 chiffres hexadécimaux minuscules, reçu {v!r}")
        return v

    @field_validator("communes_couvertes")
    @classmethod
    def _communes(cls, v: list[str] | None) -> list[str] | None:
        return None if v is None else _codes_communes(v)


class Catalogue(_Modele):
    """A local catalogue: source id → file of a local data store."""

    chemin: str
    nom: str
    description: str | None = None
    sources: dict[str, EntreeCatalogue]

    def __getitem__(self, source_id: str) -> EntreeCatalogue:
        try:
            return self.sources[source_id]
        except KeyError:
            raise ErreurDonnees(
                f"{self.chemin} : l'id de source {source_id!r} n'est pas dans le catalogue "
                f"{self.nom!r} ; ids connus : " + ", ".join(sorted(self.sources))
            ) from None

    def __contains__(self, source_id: str) -> bool:
        return source_id in self.sources


class Territoire(_Modele):
    """What a territory fetches: its communes, département and source ids.

    Built from a territory configuration by :func:`observatoire.sources.territoire`.
    """

    id: str
    nom: str
    communes: list[str]
    departement: str | None = None
    sources_locales: list[str] = Field(default_factory=list)
    sources_officielles: list[str] = Field(default_factory=list)

    @field_validator("communes")
    @classmethod
    def _codes(cls, v: list[str]) -> list[str]:
        return _codes_communes(v)


def _codes_communes(codes: list) -> list[str]:
    mauvais = [c for c in codes if not re.match(r"^(\d{5}|2[AB]\d{3})$", str(c))]
    if mauvais:
        raise ValueError(
            f"les codes commune doivent être des codes INSEE à 5 caractères : {mauvais}"
        )
    return [str(c) for c in codes]


def _lire_yaml(chemin: Path) -> dict:
    if not chemin.is_file():
        raise ErreurDonnees(f"{chemin} : fichier introuvable")
    try:
        contenu = yaml_strict(chemin.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ErreurDonnees(f"{chemin} : YAML invalide : {exc}") from exc
    if not isinstance(contenu, dict):
        raise ErreurDonnees(f"{chemin} : attendu : un dictionnaire à la racine")
    return contenu


def _message(exc: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(x) for x in e['loc']) or '(entrée)'} : "
        f"{e['msg'].removeprefix('Value error, ')}"
        for e in exc.errors()
    )


def charger_registre(chemin: str | os.PathLike | None = None) -> Registre:
    """Read and validate the registry of official sources.

    Parameters
    ----------
    chemin : path, optional
        YAML file; default the packaged ``registre.yaml``.

    Raises
    ------
    ErreurDonnees
        Invalid YAML, duplicate id, missing or malformed field (the message names the
        file, the entry and the field).
    """
    chemin = Path(chemin) if chemin is not None else DOSSIER_SOURCES / "registre.yaml"
    return _charger_registre(str(chemin.resolve()))


@lru_cache(maxsize=8)
def _charger_registre(chemin: str) -> Registre:
    contenu = _lire_yaml(Path(chemin))
    brutes = contenu.get("sources")
    if not isinstance(brutes, list):
        raise ErreurDonnees(f"{chemin} : la clé 'sources' doit être une liste d'entrées")
    sources: dict[str, Source] = {}
    for i, brute in enumerate(brutes):
        nom = brute.get("id", f"#{i + 1}") if isinstance(brute, dict) else f"#{i + 1}"
        try:
            source = Source.model_validate(brute)
        except ValidationError as exc:
            raise ErreurDonnees(f"{chemin} : source {nom!r} : {_message(exc)}") from None
        if source.id in sources:
            raise ErreurDonnees(f"{chemin} : id de source en double {source.id!r}")
        sources[source.id] = source
    return Registre(chemin=chemin, sources=sources)


def charger_catalogue(chemin: str | os.PathLike | None = None) -> Catalogue:
    """Read and validate a local catalogue (default: the packaged ``shared_data.yaml``).

    Raises
    ------
    ErreurDonnees
        Invalid YAML or entry (absolute path, ``..``, bad checksum, unknown field...).
    """
    if chemin is None:
        chemin = DOSSIER_SOURCES / "catalogues" / "shared_data.yaml"
    return _charger_catalogue(str(Path(chemin).resolve()))


@lru_cache(maxsize=8)
def _charger_catalogue(chemin: str) -> Catalogue:
    contenu = _lire_yaml(Path(chemin))
    brutes = contenu.get("sources")
    if not isinstance(brutes, dict):
        raise ErreurDonnees(
            f"{chemin} : la clé 'sources' doit associer des ids de source à des entrées"
        )
    entrees = {}
    for sid, brute in brutes.items():
        if not isinstance(brute, dict):
            raise ErreurDonnees(f"{chemin} : source {sid!r} : attendu : un dictionnaire")
        try:
            entrees[sid] = EntreeCatalogue.model_validate({"id": sid, **brute})
        except ValidationError as exc:
            raise ErreurDonnees(f"{chemin} : source {sid!r} : {_message(exc)}") from None
    return Catalogue(
        chemin=chemin,
        nom=str(contenu.get("nom", Path(chemin).stem)),
        description=contenu.get("description"),
        sources=entrees,
    )


def _socle(chemin: str | os.PathLike | None) -> tuple[Path, dict]:
    chemin = Path(chemin) if chemin is not None else DOSSIER_SOURCES / "socle.yaml"
    return chemin, _lire_yaml(chemin)


def sources_resume(chemin: str | os.PathLike | None = None) -> dict[str, str]:
    """Return role → source id read by ``observatoire data summary``.

    From the ``resume:`` key of ``socle.yaml`` (default: the packaged one).
    """
    chemin, contenu = _socle(chemin)
    resume = contenu.get("resume")
    if not isinstance(resume, dict) or not all(isinstance(v, str) for v in resume.values()):
        raise ErreurDonnees(
            f"{chemin} : la clé 'resume' doit associer des rôles à des ids de source"
        )
    return dict(resume)


def sources_officielles_socle(chemin: str | os.PathLike | None = None) -> list[str]:
    """Return the registry ids every territory downloads without ``--from``.

    From the ``officielles:`` key of ``socle.yaml`` (default: the packaged one).
    """
    chemin, contenu = _socle(chemin)
    ids = contenu.get("officielles")
    if not isinstance(ids, list) or not all(isinstance(v, str) for v in ids):
        raise ErreurDonnees(
            f"{chemin} : la clé 'officielles' doit lister des ids de source du registre"
        )
    return list(ids)

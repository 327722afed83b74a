"""Acquisition: fill the cache from official sources or from a local data store.

- :func:`recuperer` fetches source ids into the cache: from the official URL of the
  registry (streamed, resumable, checksum-verified, archives extracted safely), or
  with ``depuis=DIR`` from a local store through its catalogue (files copied and
  checked against the catalogue's sha256).
- :func:`chemin_source` returns the file to read for a source id: in the store
  ``depuis`` if given, else in the cache.
- :func:`territoire` says which ids a territory needs, read from its configuration
  (:func:`observatoire.config.charger_config`) and ``socle.yaml``.
"""

from __future__ import annotations

import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

from observatoire.config import CONFIG_DEFAUT, ErreurConfig, charger_config, configs_disponibles
from observatoire.rapport import ErreurDonnees, Rapport
from observatoire.sources.archives import extraire_archive, type_archive
from observatoire.sources.cache import Cache
from observatoire.sources.integrite import (
    ErreurIntegrite,
    chemin_dans_magasin,
    valider_id_source,
    verifier_sha256,
)
from observatoire.sources.registre import (
    Catalogue,
    Registre,
    Source,
    Territoire,
    charger_catalogue,
    charger_registre,
    sources_officielles_socle,
    sources_resume,
)
from observatoire.sources.telechargement import (
    ErreurSomme,
    ErreurTelechargement,
    sha256_fichier,
    telecharger,
)

__all__ = [
    "TERRITOIRE_DEFAUT",
    "Resultat",
    "catalogue_pour",
    "chemin_source",
    "recuperer",
    "territoire",
    "charger_territoires",
    "parametres_territoire",
    "ErreurIntegrite",
]

#: Territory used when none is given: the default configuration.
TERRITOIRE_DEFAUT = CONFIG_DEFAUT

#: Name of a catalogue shipped inside a local store (takes precedence over the packaged one).
NOM_CATALOGUE_LOCAL = "catalogue.yaml"


@dataclass(frozen=True)
class Resultat:
    """What :func:`recuperer` did for one source."""

    source_id: str
    statut: str  # "copie" | "telecharge" | "deja_en_cache"
    chemin: Path
    sha256: str
    taille: int
    secondes: float
    reprises: int = 0


def catalogue_pour(
    dossier: str | os.PathLike, catalogue: str | os.PathLike | None = None
) -> Catalogue:
    """Return the catalogue describing a local store.

    ``catalogue`` if given, else ``DIR/catalogue.yaml`` if the store ships one, else the
    packaged catalogue of the shared data store (``catalogues/shared_data.yaml``).
    """
    if catalogue is not None:
        return charger_catalogue(catalogue)
    local = Path(dossier) / NOM_CATALOGUE_LOCAL
    return charger_catalogue(local if local.is_file() else None)


def chemin_source(
    source_id: str,
    *,
    depuis: str | os.PathLike | None = None,
    cache: str | os.PathLike | None = None,
) -> Path:
    """Return the file to read for a source id.

    Parameters
    ----------
    source_id : str
        Id of the local catalogue (``iris_contours_2020_dep13`` ...) or of the registry
        (``ign_contours_iris_2020`` ...).
    depuis : path, optional
        Local data store (e.g. ``../shared/data``): the file is resolved through the
        store's catalogue, read in place, nothing is copied.
    cache : path, optional
        Cache folder (default :func:`observatoire.chemins.dossier_cache`).

    Returns
    -------
    Path
        For an archive source, the file matched by the registry's ``fichier`` pattern
        (or the extraction folder when it has none).

    Raises
    ------
    ErreurDonnees
        Unknown id, file missing from the store, or source not (completely) in the
        cache — the message says which ``observatoire data fetch`` command fills it.
    """
    valider_id_source(source_id)
    if depuis is not None:
        cat = catalogue_pour(depuis)
        entree = cat[source_id]
        chemin = chemin_dans_magasin(
            depuis, entree.chemin, source_id=source_id, catalogue=cat.chemin
        )
        if not chemin.exists():
            raise ErreurDonnees(
                f"{chemin} : fichier de la source {source_id!r} (catalogue {cat.chemin}) "
                f"introuvable dans le magasin local {depuis}"
            )
        if entree.sha256 is not None:
            verifier_sha256(
                chemin, entree.sha256, quoi=f"le catalogue {cat.chemin}", remede=_REMEDE_MAGASIN
            )
        return chemin
    c = Cache(cache)
    chemin = c.chemin_verifie(source_id)
    if chemin is None:
        raise ErreurDonnees(
            f"la source {source_id!r} n'est pas dans le cache de téléchargement {c.racine} ; "
            f"la récupérer avec `observatoire data fetch --sources {source_id}` (téléchargement "
            f"officiel) ou `observatoire data fetch --sources {source_id} --from DIR` "
            "(magasin local)"
        )
    return chemin


_REMEDE_MAGASIN = (
    "Restaurer le fichier du magasin local ou, si le nouveau contenu est voulu, mettre à jour "
    "délibérément son sha256 dans le catalogue (après avoir vérifié d'où vient le nouveau "
    "fichier)."
)


def territoire(nom: str | None = None, *, config: str | os.PathLike | None = None) -> Territoire:
    """Return the communes and source ids a territory needs.

    A territory is a configuration, read by :func:`observatoire.config.charger_config`:
    its ``code``, ``nom``, ``departement`` and member communes (``epci.communes``, in
    file order). ``sources_locales`` (fetched with ``--from DIR``) are the source ids it
    names (:meth:`~observatoire.config.ConfigTerritoire.entrees`; paths are left out)
    and those ``data summary`` reads; ``sources_officielles`` (fetched without
    ``--from``) are the ids it names that the registry knows and the ``officielles:`` of
    ``socle.yaml``.

    Parameters
    ----------
    nom : str, optional
        Name of a shipped configuration (``observatoire/configs/<nom>.yaml``; default
        :data:`TERRITOIRE_DEFAUT`).
    config : path or name, optional
        A configuration file or the name of a shipped one, instead of ``nom``.

    Raises
    ------
    ErreurDonnees
        Unknown name, missing file or invalid configuration (the message names the file
        and the key), or both ``nom`` and ``config`` given.
    """
    if nom is not None and config is not None:
        raise ErreurDonnees(
            f"territoire {nom!r} et configuration {str(config)!r} donnés tous les deux "
            "(attendu : --territoire NAME ou --config FILE)"
        )
    if config is None:
        nom = nom or TERRITOIRE_DEFAUT
        connus = configs_disponibles()
        if nom not in connus:
            raise ErreurDonnees(
                f"territoire inconnu {nom!r} ; connus : {', '.join(connus)} "
                "(configurations livrées ; ou donner --config FILE)"
            )
        config = nom
    try:
        cfg = charger_config(config)
    except ErreurConfig as exc:
        raise ErreurDonnees(str(exc)) from None
    ids = cfg.ids_sources
    registre = charger_registre()
    locales = list(dict.fromkeys([*ids, *sources_resume().values()]))
    officielles = list(
        dict.fromkeys([*(i for i in ids if i in registre), *sources_officielles_socle()])
    )
    return Territoire(
        id=cfg.code,
        nom=cfg.nom,
        communes=list(cfg.epci.communes),
        departement=cfg.departement,
        sources_locales=locales,
        sources_officielles=officielles,
    )


def charger_territoires() -> dict[str, Territoire]:
    """Return every shipped territory: configuration name → :class:`Territoire`."""
    return {nom: territoire(nom) for nom in configs_disponibles()}


def parametres_territoire(terr: Territoire | None) -> dict[str, str]:
    """Return the placeholders registry parameters may use for a territory.

    Examples
    --------
    >>> from observatoire.sources.registre import Territoire
    >>> t = Territoire(id="t", nom="t", communes=["13047", "13063"], departement="13")
    >>> parametres_territoire(t)["communes_cql"]
    "'13047','13063'"
    """
    if terr is None:
        return {}
    return {
        "communes": ",".join(terr.communes),
        "communes_cql": ",".join(f"'{c}'" for c in terr.communes),
        "departement": terr.departement or "",
    }


def _remplir(source: Source, valeurs: dict[str, str]) -> dict[str, str]:
    out = {}
    for cle, modele in source.acces.parametres.items():
        try:
            out[cle] = modele.format(**valeurs)
        except KeyError as exc:
            raise ErreurDonnees(
                f"source {source.id!r} : le paramètre {cle}={modele!r} demande {exc} — "
                "donner un territoire"
            ) from None
    return out


def _nom_fichier(source: Source) -> str:
    nom = Path(urlparse(source.acces.url or "").path).name
    if source.acces.type in {"wfs", "api"} or "." not in nom:
        return f"{source.id}.{source.format}"
    return nom


def _copier_local(source_id: str, cat: Catalogue, depuis: Path, c: Cache, forcer: bool) -> Resultat:
    t0 = time.perf_counter()
    valider_id_source(source_id)
    entree = cat[source_id]
    origine = chemin_dans_magasin(depuis, entree.chemin, source_id=source_id, catalogue=cat.chemin)
    if not origine.is_file():
        raise ErreurDonnees(
            f"{origine} : fichier de la source {source_id!r} (catalogue {cat.chemin}) introuvable"
        )
    somme = sha256_fichier(origine)
    if entree.sha256 is not None and somme != entree.sha256:
        raise ErreurSomme(
            f"{origine} : sha256 discordant pour la source {source_id!r} : le catalogue "
            f"{cat.chemin} attend {entree.sha256}, le fichier a {somme} ; rien n'a été copié. "
            + _REMEDE_MAGASIN
        )
    deja = c.entree(source_id)
    chemin_deja = None if forcer else c.chemin_verifie(source_id)
    if not forcer and deja and chemin_deja is not None and deja.get("sha256") == somme:
        return Resultat(
            source_id,
            "deja_en_cache",
            chemin_deja,
            somme,
            origine.stat().st_size,
            time.perf_counter() - t0,
        )
    staging = c.preparer(source_id)
    try:
        cible = staging / origine.name
        shutil.copyfile(origine, cible)
        if sha256_fichier(cible) != somme:  # the copy itself went wrong
            raise ErreurSomme(f"{cible} : la copie de {origine} diffère de l'original")
        chemin = c.installer(
            staging,
            source_id,
            entree.rubrique,
            fichier=origine.name,
            sha256=somme,
            provenance=entree.provenance,
            origine=str(origine.resolve()),
            catalogue=cat.nom,
            millesime=entree.millesime,
            crs=entree.crs,
            couche=entree.couche,
            source_officielle=entree.source_officielle,
        )
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return Resultat(
        source_id, "copie", chemin, somme, origine.stat().st_size, time.perf_counter() - t0
    )


def _telecharger_officiel(
    source: Source,
    c: Cache,
    valeurs: dict[str, str],
    *,
    forcer: bool,
    essais: int,
    session,
    renouveler_empreinte: bool,
    rapport: Rapport,
) -> Resultat:
    t0 = time.perf_counter()
    if not source.telechargeable:
        raise ErreurTelechargement(
            f"la source {source.id!r} ({source.producteur}, {source.jeu}) n'a pas de "
            f"téléchargement direct : la récupérer à la main sur "
            f"{source.page or 'le site du producteur'} et utiliser `--from DIR` avec un "
            f"catalogue. {source.notes or ''}".strip()
        )
    params = _remplir(source, valeurs) or None
    deja = None if forcer else c.chemin_verifie(source.id)
    if deja is not None and not forcer:
        e = c.entree(source.id)
        return Resultat(
            source.id,
            "deja_en_cache",
            deja,
            e["sha256"],
            e.get("taille", 0),
            time.perf_counter() - t0,
        )
    if renouveler_empreinte:
        c.oublier_empreinte(source.id)
    attendu = source.sha256
    epingle = c.empreinte(source.id) if source.stable else None
    if attendu is None and epingle is not None:
        attendu = epingle["sha256"]
    nom = _nom_fichier(source)
    c.dossier_temp.mkdir(parents=True, exist_ok=True)
    telecharge = c.dossier_temp / f"{source.id}--{nom}"
    try:
        res = telecharger(
            source.acces.url,
            telecharge,
            sha256=attendu,
            params=params,
            essais=essais,
            session=session,
            partiel=c.dossier_temp / f"{source.id}--{nom}.part",
            rapport=rapport,
        )
    except ErreurSomme as exc:
        if epingle is not None and source.sha256 is None:
            raise ErreurSomme(
                f"{exc}. La valeur attendue est celle du premier téléchargement, enregistrée le "
                f"{epingle['date']} : le producteur a peut-être republié le fichier. Le vérifier, "
                "puis relancer avec --renouveler-empreinte pour accepter le nouveau fichier."
            ) from None
        raise
    staging = c.preparer(source.id)
    try:
        if type_archive(telecharge):
            extraire_archive(telecharge, staging / "contenu")
            telecharge.unlink()
            fichier = "contenu"
            if source.fichier:
                trouves = sorted((staging / "contenu").glob(source.fichier))
                if not trouves:
                    rapport.avertir(
                        "acquisition",
                        source.id,
                        f"aucun fichier ne correspond à {source.fichier!r} dans l'archive ; "
                        "le dossier est utilisé",
                    )
                else:
                    if len(trouves) > 1:
                        rapport.avertir(
                            "acquisition",
                            source.id,
                            f"{len(trouves)} fichiers correspondent à {source.fichier!r} ; "
                            "le premier est utilisé",
                            n=len(trouves),
                        )
                    fichier = trouves[0].relative_to(staging).as_posix()
        else:
            os.replace(telecharge, staging / nom)
            fichier = nom
        chemin = c.installer(
            staging,
            source.id,
            source.rubrique,
            fichier=fichier,
            sha256=res.sha256,
            provenance=f"{source.producteur} — {source.jeu}"
            + (f", édition {source.edition}" if source.edition else ""),
            origine=res.url + (f" ?{params}" if params else ""),
            millesime=source.millesime,
            crs=source.crs,
            licence=source.licence,
            taille=res.taille,
            source_officielle=source.id,
        )
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        telecharge.unlink(missing_ok=True)
        raise
    if source.stable and source.sha256 is None and epingle is None:
        c.noter_empreinte(source.id, res.sha256, url=res.url, taille=res.taille)
        rapport.info(
            "acquisition",
            source.id,
            f"premier téléchargement : empreinte sha256 {res.sha256} enregistrée",
        )
    return Resultat(
        source.id,
        "telecharge",
        chemin,
        res.sha256,
        res.taille,
        time.perf_counter() - t0,
        res.reprises,
    )


def recuperer(
    source_ids: list[str],
    *,
    depuis: str | os.PathLike | None = None,
    catalogue: str | os.PathLike | None = None,
    cache: str | os.PathLike | None = None,
    terr: Territoire | None = None,
    registre: Registre | str | os.PathLike | None = None,
    forcer: bool = False,
    essais: int = 3,
    session=None,
    renouveler_empreinte: bool = False,
    rapport: Rapport | None = None,
) -> list[Resultat]:
    """Fetch sources into the cache, from a local store or from their official URL.

    Parameters
    ----------
    source_ids : list of str
        Catalogue ids with ``depuis``, registry ids without.
    depuis : path, optional
        Local data store; its files are copied into the cache after checking their
        sha256 against the catalogue.
    catalogue : path, optional
        Catalogue of the store (default :func:`catalogue_pour`).
    cache : path, optional
        Cache folder.
    terr : Territoire, optional
        Fills the WFS/API parameters (communes, département).
    registre : Registre or path, optional
        Registry (default: the packaged one).
    forcer : bool
        Re-fetch even if the cache already holds the source.
    essais : int
        Download attempts (each one resumes the previous).
    renouveler_empreinte : bool
        Forget the pinned first-download sha256 (the producer republished).
    rapport : Rapport, optional

    Returns
    -------
    list of Resultat

    Raises
    ------
    ErreurDonnees
        The first source that fails (unknown id, missing file, checksum mismatch,
        download failure); the sources before it stay in the cache.
    """
    rapport = rapport if rapport is not None else Rapport()
    c = Cache(cache)
    resultats = []
    if depuis is not None:
        depuis = Path(depuis)
        if not depuis.is_dir():
            raise ErreurDonnees(f"{depuis} : magasin local introuvable")
        cat = catalogue_pour(depuis, catalogue)
        for sid in source_ids:
            r = _copier_local(sid, cat, depuis, c, forcer)
            rapport.info("acquisition", sid, f"{r.statut} : {r.chemin}")
            resultats.append(r)
        return resultats
    reg = registre if isinstance(registre, Registre) else charger_registre(registre)
    valeurs = parametres_territoire(terr)
    for sid in source_ids:
        r = _telecharger_officiel(
            reg[sid],
            c,
            valeurs,
            forcer=forcer,
            essais=essais,
            session=session,
            renouveler_empreinte=renouveler_empreinte,
            rapport=rapport,
        )
        rapport.info("acquisition", sid, f"{r.statut} : {r.chemin}")
        resultats.append(r)
    return resultats

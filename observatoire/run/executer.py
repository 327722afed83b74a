"""The yearly run: one territory configuration → tables, maps, sheets and a manifest.

:func:`executer_run` chains the pipeline steps (:mod:`observatoire.run.etapes`:
sources → poids → indicateurs → écarts → tables → cartes → fiches) for the years
asked, into ``<sorties>/<territoire>/``:

- fast checks first (:func:`observatoire.run.verification.preparer_run`): a bad
  configuration, a missing file, an unknown QPV code, an IRIS absent from the
  geography or a year the sources do not hold stops the run before anything is
  written;
- existing outputs are never replaced without ``force=True``
  (:class:`SortiesExistantes` lists them);
- everything is built in a temporary folder next to the target and swapped in at
  the end (:mod:`observatoire.run.remplacement`): a failed or killed run leaves
  the previous outputs untouched;
- ``manifest.json`` records every input (path, SHA-256, provenance), the
  parameters, package versions, timings and warning counts, the output files
  with their checksums and, with ``force``, what changed; ``run.log`` holds the
  log. Only these two files carry timestamps.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import json
import logging
import os
import shutil
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from observatoire import __version__
from observatoire.chemins import dossier_sorties
from observatoire.config import ConfigTerritoire, charger_config
from observatoire.ecriture_atomique import ecrire_fichier_atomique
from observatoire.rapport import Rapport
from observatoire.run.contexte import Contexte, Etape
from observatoire.run.manifeste import (
    NOM_JOURNAL,
    NOM_MANIFESTE,
    Changements,
    comparer_inventaires,
    etat_sorties,
    inventaire,
    lire_manifeste,
    versions_paquets,
)
from observatoire.run.remplacement import (
    RunEnCours,
    dossier_temporaire,
    nettoyer_restes,
    remplacer_dossier,
    verrou_sorties,
)
from observatoire.territoire.donnees import DonneesTerritoire

__all__ = [
    "Contexte",
    "Etape",
    "ResultatRun",
    "SortiesExistantes",
    "RunEnCours",
    "ErreurEtape",
    "ErreurEcriture",
    "executer_run",
    "annees_demandees",
]

log = logging.getLogger("observatoire.run")


class SortiesExistantes(FileExistsError):
    """Outputs already exist and ``force`` was not given; lists what exists."""

    def __init__(self, dossier: Path, fichiers: list[str], manifeste: dict | None):
        self.dossier = dossier
        self.fichiers = fichiers
        self.manifeste = manifeste
        quand = ""
        if manifeste and manifeste.get("debut"):
            quand = f" (exécution du {manifeste['debut']}, années {manifeste.get('annees')})"
        self.entete = (
            f"des sorties existent déjà dans {dossier}{quand} : {len(fichiers)} fichier(s)\n"
            + _apercu(fichiers)
        )
        self.commande: str | None = None
        super().__init__(self.entete)

    def __str__(self) -> str:
        commande = self.commande or "la même commande avec --force"
        return (
            f"{self.entete}\nRien n'a été modifié. Pour les remplacer (de façon atomique ; "
            f"l'exécution indique ce qui a changé), lancer :\n  {commande}"
        )


def _apercu(fichiers: list[str], par_dossier: int = 12) -> str:
    """List files grouped by top-level folder (count and first names).

    Examples
    --------
    >>> print(_apercu(["2016/a.html", "2016/fiches/b.html", "manifest.json", "tables/x.csv"]))
      2016/ (2 fichier(s) : a.html, fiches/b.html)
      tables/ (1 fichier(s) : x.csv)
      manifest.json
    """
    groupes: dict[str, list[str]] = {}
    seuls = []
    for f in fichiers:
        tete, _, reste = f.partition("/")
        if reste:
            groupes.setdefault(tete, []).append(reste)
        else:
            seuls.append(f)
    lignes = []
    for tete, noms in groupes.items():
        plus = f", ... et {len(noms) - par_dossier} autre(s)" if len(noms) > par_dossier else ""
        lignes.append(f"  {tete}/ ({len(noms)} fichier(s) : {', '.join(noms[:par_dossier])}{plus})")
    if seuls:
        lignes.append("  " + ", ".join(seuls))
    return "\n".join(lignes)


class ErreurEtape(RuntimeError):
    """A pipeline step failed; the previous outputs were left untouched."""

    def __init__(self, etape: str, cause: BaseException):
        self.etape = etape
        self.cause = cause
        super().__init__(f"l'étape '{etape}' a échoué : {type(cause).__name__}: {cause}")


#: Errors of the file system holding the outputs (read-only, full, no permission).
_ERRNO_ECRITURE = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM}


class ErreurEcriture(ErreurEtape):
    """The output folder cannot be written (read-only, full, no permission, link).

    Its message is one line and says the previous outputs are untouched.
    """

    def __init__(self, dossier: Path, cause: BaseException | str, etape: str = "sorties"):
        self.etape = etape
        self.cause = cause
        self.dossier = dossier
        raison = cause.strerror if isinstance(cause, OSError) and cause.strerror else str(cause)
        RuntimeError.__init__(
            self,
            f"impossible d'écrire les sorties dans {dossier} : {raison} ; rien n'a été "
            "modifié, les sorties précédentes sont intactes",
        )


def _ecriture_impossible(exc: BaseException) -> bool:
    return isinstance(exc, OSError) and exc.errno in _ERRNO_ECRITURE


def _cible_sorties(sorties, code: str) -> Path:
    """Return the territory's output folder (a symbolic link is followed to its folder)."""
    racine = dossier_sorties(sorties).resolve()
    cible = racine / code
    if cible.is_symlink():
        reel = cible.resolve()
        if not reel.is_dir():
            raise ErreurEcriture(
                cible, f"c'est un lien symbolique vers {reel}, qui n'est pas un dossier existant"
            )
        return reel
    if cible.exists() and not cible.is_dir():
        raise ErreurEcriture(cible, "il existe et n'est pas un dossier")
    return cible


@dataclass
class ResultatRun:
    """What a finished run returns."""

    dossier: Path
    manifeste: dict
    changements: Changements | None
    rapport: Rapport
    resume: str


def annees_demandees(annees: str | Sequence[int] | None) -> list[int] | str:
    """Parse the ``--years`` option: ``"2011,2016"``, ``"all"`` or a list.

    Examples
    --------
    >>> annees_demandees("2016, 2011")
    [2011, 2016]
    >>> annees_demandees(None)
    'all'
    >>> annees_demandees("2O16")
    Traceback (most recent call last):
    ...
    ValueError: --years : '2O16' n'est pas une année (attendu : par ex. 2011,2016,2022 ou all)
    """
    if annees is None or (isinstance(annees, str) and annees.strip().lower() in ("", "all")):
        return "all"
    if isinstance(annees, str):
        morceaux = [m.strip() for m in annees.split(",") if m.strip()]
    else:
        morceaux = list(annees)
    out = []
    for m in morceaux:
        try:
            a = int(m)
        except (TypeError, ValueError):
            raise ValueError(
                f"--years : {m!r} n'est pas une année (attendu : par ex. 2011,2016,2022 ou all)"
            ) from None
        if not 1990 <= a <= 2100:
            raise ValueError(
                f"--years : {a} n'est pas un millésime du recensement "
                "(attendu : par ex. 2011,2016,2022)"
            )
        out.append(a)
    return sorted(set(out))


def _contenu(dossier: Path) -> list[str]:
    return sorted(p.relative_to(dossier).as_posix() for p in dossier.rglob("*") if p.is_file())


class _Journal:
    """Attach a file handler to the ``observatoire`` logger for the run's duration."""

    def __init__(self, chemin: Path):
        self.handler = logging.FileHandler(chemin, encoding="utf-8")
        self.handler.setLevel(logging.DEBUG)
        self.handler.setFormatter(
            logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
        )
        self.logger = logging.getLogger("observatoire")
        self.niveau = self.logger.level

    def __enter__(self):
        self.logger.addHandler(self.handler)
        self.consoles = []
        if self.logger.getEffectiveLevel() > logging.INFO:
            self.logger.setLevel(logging.INFO)
            # the console keeps to errors: warnings are listed once, in the end-of-run
            # summary (-v streams every message as it comes)
            for h in logging.getLogger().handlers:
                if isinstance(h, logging.StreamHandler) and not isinstance(h, logging.FileHandler):
                    self.consoles.append((h, h.level))
                    h.setLevel(max(h.level, logging.ERROR))
        return self

    def fichier(self, message: str) -> None:
        """Write ``message`` to the log file only (not echoed on the console)."""
        self.handler.handle(
            logging.LogRecord(log.name, logging.INFO, __file__, 0, message, None, None)
        )

    def __exit__(self, *exc):
        self.logger.removeHandler(self.handler)
        self.logger.setLevel(self.niveau)
        for h, niveau in self.consoles:
            h.setLevel(niveau)
        self.handler.close()
        return False


def _entrees_manifeste(donnees: DonneesTerritoire) -> list[dict]:
    """List the inputs for the manifest; refuse one whose content changed during the run."""
    from observatoire.sources.integrite import ErreurIntegrite, sha256_chemin

    entrees = donnees.entrees
    out = []
    for cle, e in sorted(entrees.items()):
        chemin = Path(e.chemin)
        somme = sha256_chemin(chemin)  # memoised: hashed once per run unless it changed
        verifiee = getattr(e, "sha256", None)
        if verifiee is not None and somme != verifiee:
            raise ErreurIntegrite(
                f"{cle} : {chemin} a changé pendant l'exécution (sha256 {verifiee} à la "
                f"vérification, {somme} maintenant) ; les sorties n'ont pas été écrites. Relancer "
                "une fois le fichier stable."
            )
        out.append(
            {
                "cle": cle,
                "source": e.source,
                "chemin": str(chemin),
                "couche": e.couche,
                "edition": e.edition,
                "octets": chemin.stat().st_size if chemin.is_file() else None,
                "sha256": somme,
                "provenance": e.provenance,
            }
        )
    return out


_MOTS_PLAUSIBILITE = ("plausib", "ne peuvent contenir", "calibration", "calage")


def _avertissement_important(e) -> bool:
    """Tell the warnings printed in the summary (plausibility, repairs, partner rows)."""
    texte = f"{e.etape} {e.source} {e.message}".lower()
    return (
        e.etape in ("ponderation", "poids", "partenaires")
        or (e.etape == "chargement" and getattr(e, "zone", None) is not None)
        or any(m in texte for m in _MOTS_PLAUSIBILITE)
    )


def _resume_fiabilite(ctx: Contexte) -> str:
    """Values of record graded 'faible' in the synthesis of the latest vintage, in one line."""
    s = ctx.ecarts.synthese if ctx.ecarts is not None else None
    if s is None or not len(s) or "fiabilite" not in s.columns:
        return ""
    v = s.drop_duplicates(["territoire_code", "indicateur", "sexe"])
    faibles = v[v["fiabilite"].astype(str) == "faible"]
    if not len(faibles):
        return f"fiabilité : aucune valeur retenue classée 'faible' ({len(v)} valeurs)"
    par_zone = faibles.groupby("territoire_code").size().sort_values(ascending=False)
    zones = ", ".join(f"{c} {n}" for c, n in par_zone.items())
    return (
        f"fiabilité : {len(faibles)} des {len(v)} valeurs retenues classées 'faible' "
        f"({zones}) ; motifs sur les fiches et dans tables/synthese"
    )


def _texte_resume(ctx: Contexte, dossier: Path, timings: dict, changements, duree: float) -> str:
    detail = logging.getLogger().getEffectiveLevel() <= logging.INFO
    lignes = [
        f"observatoire run — {ctx.config.nom} ({ctx.config.code}), années "
        f"{', '.join(map(str, ctx.annees))} : terminé en {duree:.1f} s",
        f"sorties : {dossier}",
    ]
    lignes += [f"  {ligne}" for ligne in ctx.resume]
    lignes.append(
        "étapes : "
        + ", ".join(f"{k} {v:.1f} s" for k, v in timings.items())
        + f" — total {duree:.1f} s"
    )
    avert = [e for e in ctx.rapport.evenements if e.niveau == "avertissement"]
    importants = avert if detail else [e for e in avert if _avertissement_important(e)]
    if avert:
        lignes.append(
            f"{len(avert)} avertissement(s)"
            + (
                ""
                if detail
                else f", {len(importants)} affiché(s) — plausibilité, réparations, partenaires "
                f"(tous dans {NOM_JOURNAL} et {NOM_MANIFESTE} ; -v les liste)"
            )
            + " :"
        )
        for e in importants[:25]:
            lignes.append(f"  [{e.etape}] {e.message}")
        if len(importants) > 25:
            lignes.append(
                f"  ... et {len(importants) - 25} autre(s) (voir {NOM_JOURNAL} et {NOM_MANIFESTE})"
            )
    else:
        lignes.append("aucun avertissement")
    fiab = _resume_fiabilite(ctx)
    if fiab:
        lignes.append(fiab)
    if changements is not None:
        lignes.append("comparé aux sorties précédentes : " + changements.resume())
    if (ctx.dossier / "index.html").is_file():
        lignes.append(f"ouvrir : {dossier / 'index.html'}")
    return "\n".join(lignes)


def executer_run(
    config: ConfigTerritoire | str | os.PathLike | None = None,
    *,
    annees: str | Sequence[int] | None = None,
    depuis: str | os.PathLike | None = None,
    sorties: str | os.PathLike | None = None,
    force: bool = False,
    etapes: Sequence[Etape] | None = None,
    progression: bool = True,
    cache: str | os.PathLike | None = None,
) -> ResultatRun:
    """Run the whole pipeline for one territory, atomically.

    Parameters
    ----------
    config : ConfigTerritoire, path or name, optional
        Territory configuration (default: the shipped SAN Ouest Provence).
    annees : "all", "2011,2016" or list of int, optional
        Vintages to compute (default: every vintage the sources hold).
    depuis : path, optional
        Local data store to take the sources from (``--from``) instead of the cache.
    sorties : path, optional
        Output root (default: the checkout's ``maps/``); outputs go to
        ``<sorties>/<config.code>/``.
    force : bool
        Replace existing outputs (atomically) and report what changed.
    etapes : sequence of Etape, optional
        Pipeline steps (default :data:`observatoire.run.etapes.ETAPES`); tests pass stubs.
    progression : bool
        Show progress bars.
    cache : path, optional
        Download cache folder (default :func:`observatoire.chemins.dossier_cache`).

    Returns
    -------
    ResultatRun

    Raises
    ------
    observatoire.config.ErreurConfig
        Invalid configuration or inputs (nothing written).
    observatoire.rapport.ErreurDonnees
        Unreadable or inconsistent input data (nothing written).
    SortiesExistantes
        Outputs exist and ``force`` is false (nothing written).
    RunEnCours
        Another run is writing into the same output root (nothing written).
    ErreurEtape
        A step failed (previous outputs untouched).
    """
    from observatoire.run.verification import preparer_run

    debut = time.perf_counter()
    horodatage = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    cfg = config if isinstance(config, ConfigTerritoire) else charger_config(config)
    demande = annees_demandees(annees)
    rapport = Rapport()
    depuis_p = Path(depuis).expanduser().resolve() if depuis is not None else None

    # 1. Fast checks, before anything is written.
    t0 = time.perf_counter()
    donnees = preparer_run(cfg, annees=demande, depuis=depuis_p, cache=cache, rapport=rapport)
    t_verif = time.perf_counter() - t0

    # 2. One run at a time per output root, then the existing outputs.
    cible = _cible_sorties(sorties, cfg.code)
    with contextlib.ExitStack() as pile:
        try:
            pile.enter_context(verrou_sorties(cible.parent))
        except OSError as exc:
            raise ErreurEcriture(cible.parent, exc) from exc
        demande_run = _Demande(
            config=cfg,
            annees=demande,
            depuis=depuis_p,
            force=force,
            etapes=etapes,
            progression=progression,
            horodatage=horodatage,
            debut=debut,
            t_verification=t_verif,
        )
        return _construire(demande_run, cible, donnees, rapport)


@dataclass(frozen=True)
class _Demande:
    """What a run was asked: configuration, options, start time and checks' duration."""

    config: ConfigTerritoire
    annees: str | list[int]
    depuis: Path | None
    force: bool
    etapes: Sequence[Etape] | None
    progression: bool
    horodatage: str
    debut: float
    t_verification: float


def _construire(
    d: _Demande, cible: Path, donnees: DonneesTerritoire, rapport: Rapport
) -> ResultatRun:
    """Build the outputs in a temporary folder and swap them in (lock held)."""
    cfg, etapes = d.config, d.etapes
    try:
        restes = nettoyer_restes(cible)
    except OSError as exc:
        raise ErreurEcriture(cible.parent, exc) from exc
    for r in restes:
        rapport.info("run", str(r), "dossier restant d'un run interrompu supprimé/restauré")
    existants = _contenu(cible) if cible.is_dir() else []
    ancien_manifeste = lire_manifeste(cible) if existants else None
    if existants and not d.force:
        raise SortiesExistantes(cible, existants, ancien_manifeste)

    if etapes is None:
        from observatoire.run.etapes import ETAPES

        etapes = ETAPES

    # 3. Build in a temporary folder next to the target.
    try:
        tmp = dossier_temporaire(cible)
    except OSError as exc:
        raise ErreurEcriture(cible.parent, exc) from exc
    ctx = Contexte(
        config=cfg,
        annees=list(donnees.annees),
        dossier=tmp,
        rapport=rapport,
        donnees=donnees,
        progression=d.progression,
    )
    timings: dict[str, float] = {"verification": d.t_verification}
    avert_par_etape: dict[str, int] = {}
    try:
        with _Journal(tmp / NOM_JOURNAL) as journal:
            log.info("run %s years %s from %s into %s", cfg.code, ctx.annees, d.depuis, cible)
            n_av = rapport.n_avertissements
            avert_par_etape["verification"] = n_av
            barre = ctx.barre(etapes, "observatoire run", total=len(etapes))
            for etape in barre:
                if hasattr(barre, "set_postfix_str"):
                    barre.set_postfix_str(etape.nom)
                t0 = time.perf_counter()
                log.info("step %s: start", etape.nom)
                try:
                    etape.fonction(ctx)
                except Exception as exc:
                    log.exception("step %s failed", etape.nom)
                    if _ecriture_impossible(exc):
                        raise ErreurEcriture(cible, exc, etape.nom) from exc
                    raise ErreurEtape(etape.nom, exc) from exc
                timings[etape.nom] = time.perf_counter() - t0
                avert_par_etape[etape.nom] = rapport.n_avertissements - n_av
                n_av = rapport.n_avertissements
                log.info("step %s: done in %.2f s", etape.nom, timings[etape.nom])

            nouvel_inventaire = inventaire(tmp)
            changements = None
            a_conserver: list[str] = []
            conserves = None
            if existants:
                # what is on disk (every file), not what the previous manifest recorded
                etat = etat_sorties(cible, ancien_manifeste)
                changements = comparer_inventaires(etat.inventaire, nouvel_inventaire)
                changements.noter_retouches(etat)
                a_conserver = etat.non_ecrits
                if a_conserver:
                    conserves = cible.parent / (
                        f"{cible.name}.conserves-" + dt.datetime.now().strftime("%Y%m%dT%H%M%S")
                    )
                    changements.conserves_dans = str(conserves)
            duree = time.perf_counter() - d.debut
            resume = _texte_resume(ctx, cible, timings, changements, duree)
            for ligne in resume.splitlines():
                journal.fichier(ligne)
        manifeste = {
            "observatoire": __version__,
            "territoire": {"code": cfg.code, "nom": cfg.nom},
            "debut": d.horodatage,
            "fin": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "duree_s": round(duree, 3),
            "annees": ctx.annees,
            "annees_disponibles": list(donnees.annees_disponibles),
            "options": {
                "config": str(getattr(cfg, "dossier_config", None) or ""),
                "annees": d.annees if isinstance(d.annees, str) else list(d.annees),
                "depuis": str(d.depuis) if d.depuis else None,
                "sorties": str(cible),
                "force": d.force,
            },
            "parametres": cfg.parametres(),
            "entrees": _entrees_manifeste(donnees),
            "versions": versions_paquets(),
            "durees_s": {k: round(v, 3) for k, v in timings.items()},
            "avertissements": {
                "total": rapport.n_avertissements,
                "par_etape": avert_par_etape,
                "liste": [e.__dict__ for e in rapport.evenements if e.niveau == "avertissement"],
            },
            "reparations": list(rapport.reparations),
            "resume": ctx.resume,
            "modeles": ctx.indicateurs.modeles if ctx.indicateurs is not None else None,
            "sorties": nouvel_inventaire,
            "changements": changements.to_dict() if changements is not None else None,
        }
        ecrire_fichier_atomique(
            tmp / NOM_MANIFESTE, json.dumps(manifeste, ensure_ascii=False, indent=2, default=str)
        )
        remplacer_dossier(tmp, cible, conserver=a_conserver, vers=conserves)
    except OSError as exc:
        _nettoyer_echec(ctx, tmp)
        if _ecriture_impossible(exc):
            raise ErreurEcriture(cible, exc) from exc
        raise
    except BaseException:
        _nettoyer_echec(ctx, tmp)
        raise
    return ResultatRun(
        dossier=cible, manifeste=manifeste, changements=changements, rapport=rapport, resume=resume
    )


def _nettoyer_echec(ctx: Contexte, tmp: Path) -> None:
    """After a failure: the steps' cleanups, then the temporary folder."""
    for nettoyer in ctx.nettoyages:
        try:
            nettoyer()
        except Exception:  # pragma: no cover - cleaning must not hide the cause
            log.exception("cleanup after a failed run")
    shutil.rmtree(tmp, ignore_errors=True)

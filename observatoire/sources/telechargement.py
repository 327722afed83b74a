"""Streamed, resumable, checksum-verified HTTP downloads.

The body is written to a ``.part`` file; an interrupted transfer is resumed with an
HTTP ``Range`` request (or restarted when the server ignores ranges). The ``.part``
file is renamed to its final name only after the whole body arrived and its
sha256 matched the expected one, so a partial download never looks complete. On a
checksum mismatch the ``.part`` file is deleted and :class:`ErreurSomme` raised.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path

import requests

from observatoire import __version__
from observatoire.rapport import ErreurDonnees, Rapport

__all__ = ["ErreurTelechargement", "ErreurSomme", "Telechargement", "sha256_fichier", "telecharger"]

log = logging.getLogger(__name__)

_BLOC = 1024 * 1024
#: Network read size: what arrived before an interruption is kept, up to one block.
_BLOC_RESEAU = 64 * 1024
_INTERRUPTIONS = (
    requests.exceptions.ChunkedEncodingError,
    requests.exceptions.ConnectionError,
    requests.exceptions.Timeout,
)


class ErreurTelechargement(ErreurDonnees):
    """A download failed (HTTP error, interrupted transfer, no network)."""


class ErreurSomme(ErreurTelechargement):
    """The downloaded or copied file does not have the expected sha256."""


@dataclass(frozen=True)
class Telechargement:
    """Result of a completed download."""

    chemin: Path
    sha256: str
    taille: int
    url: str
    reprises: int


def sha256_fichier(chemin: str | os.PathLike) -> str:
    """Return the sha256 (hex) of a file, read by blocks.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "a.txt"
    >>> _ = p.write_bytes(b"abc")
    >>> sha256_fichier(p)[:16]
    'ba7816bf8f01cfea'
    """
    h = hashlib.sha256()
    with open(chemin, "rb") as f:
        for bloc in iter(lambda: f.read(_BLOC), b""):
            h.update(bloc)
    return h.hexdigest()


def _etat(partiel: Path) -> Path:
    return partiel.with_name(partiel.name + ".json")


def _lire_etat(partiel: Path) -> dict:
    """URL and validator (ETag / Last-Modified) of the response a ``.part`` file comes from."""
    try:
        return json.loads(_etat(partiel).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def _ecrire_etat(partiel: Path, etat: dict) -> None:
    _etat(partiel).write_text(json.dumps(etat), encoding="utf-8")


def _debut_content_range(valeur: str | None) -> int | None:
    m = re.match(r"bytes (\d+)-\d+/(\d+|\*)", valeur or "")
    return int(m.group(1)) if m else None


def telecharger(
    url: str,
    destination: str | os.PathLike,
    *,
    sha256: str | None = None,
    params: dict[str, str] | None = None,
    essais: int = 3,
    session: requests.Session | None = None,
    partiel: str | os.PathLike | None = None,
    pause: float = 0.5,
    timeout: tuple[float, float] = (15.0, 120.0),
    rapport: Rapport | None = None,
) -> Telechargement:
    """Download ``url`` to ``destination``, streamed, resumable and checked.

    Parameters
    ----------
    url : str
        HTTP(S) URL.
    destination : path
        Final file; written only once complete and verified.
    sha256 : str, optional
        Expected checksum; mismatch → :class:`ErreurSomme`, nothing kept.
    params : dict, optional
        Query parameters (WFS/API requests: never resumed, always restarted).
    essais : int
        Attempts in total; each retry resumes from the bytes already received.
    session : requests.Session, optional
    partiel : path, optional
        The in-progress file (default ``.<name>.part`` next to ``destination``).
    rapport : Rapport, optional
        Receives one event per interruption/resume.

    Returns
    -------
    Telechargement

    Raises
    ------
    ErreurTelechargement
        HTTP error, or still incomplete after ``essais`` attempts (the ``.part`` file
        is kept for a later resume; ``destination`` is not created).
    ErreurSomme
        Complete body whose sha256 differs from ``sha256`` (``.part`` deleted).
    """
    destination = Path(destination)
    partiel = Path(partiel) if partiel else destination.with_name(f".{destination.name}.part")
    partiel.parent.mkdir(parents=True, exist_ok=True)
    session = session or requests.Session()
    # identity: byte counts must match Content-Length (requests would decode gzip bodies)
    entetes_base = {"User-Agent": f"observatoire/{__version__}", "Accept-Encoding": "identity"}
    reprises = 0
    derniere_erreur = "aucune tentative"
    for essai in range(1, max(1, essais) + 1):
        deja = partiel.stat().st_size if partiel.exists() else 0
        entetes = dict(entetes_base)
        if deja and not params:
            etat = _lire_etat(partiel)
            if etat.get("url") != url:  # a partial file of another URL: never mix contents
                partiel.unlink()
                deja = 0
            else:
                entetes["Range"] = f"bytes={deja}-"
                if etat.get("validateur"):  # the server sends the whole file if it changed
                    entetes["If-Range"] = etat["validateur"]
        try:
            with session.get(
                url, params=params, headers=entetes, stream=True, timeout=timeout
            ) as r:
                if r.status_code == 416:  # range beyond the end: restart from scratch
                    partiel.unlink(missing_ok=True)
                    derniere_erreur = "HTTP 416 à la reprise"
                    continue
                if r.status_code >= 400:
                    message = f"{url} : HTTP {r.status_code} {r.reason}"
                    if r.status_code < 500:
                        partiel.unlink(missing_ok=True)
                        _etat(partiel).unlink(missing_ok=True)
                        raise ErreurTelechargement(message)
                    derniere_erreur = message
                    time.sleep(pause)
                    continue
                if (
                    r.status_code == 206
                    and _debut_content_range(r.headers.get("Content-Range")) == deja
                ):
                    mode, debut = "ab", deja
                    reprises += 1
                    if rapport is not None:
                        rapport.info("acquisition", url, f"téléchargement repris à l'octet {deja}")
                else:
                    mode, debut = "wb", 0
                    validateur = r.headers.get("ETag") or r.headers.get("Last-Modified")
                    _ecrire_etat(partiel, {"url": url, "validateur": validateur})
                longueur = r.headers.get("Content-Length")
                code = r.headers.get("Content-Encoding", "identity").lower()
                attendu = (
                    debut + int(longueur)
                    if longueur and longueur.isdigit() and code == "identity"
                    else None
                )
                with open(partiel, mode) as f:
                    for bloc in r.iter_content(_BLOC_RESEAU):
                        f.write(bloc)
        except _INTERRUPTIONS as exc:
            derniere_erreur = f"transfert interrompu ({type(exc).__name__})"
            recu = partiel.stat().st_size if partiel.exists() else 0
            if rapport is not None:
                rapport.avertir(
                    "acquisition",
                    url,
                    f"tentative {essai} : transfert interrompu ({type(exc).__name__}), "
                    f"{recu} octets gardés",
                )
            log.info("%s: attempt %d interrupted: %s", url, essai, exc)
            time.sleep(pause)
            continue
        except requests.exceptions.RequestException as exc:  # invalid URL, redirect loop...
            raise ErreurTelechargement(f"{url} : échec de la requête : {exc}") from exc
        recu = partiel.stat().st_size
        if attendu is not None and recu != attendu:
            derniere_erreur = f"contenu incomplet ({recu} octets sur {attendu})"
            time.sleep(pause)
            continue
        somme = sha256_fichier(partiel)
        if sha256 is not None and somme != sha256:
            partiel.unlink(missing_ok=True)
            _etat(partiel).unlink(missing_ok=True)
            raise ErreurSomme(
                f"{url} : sha256 discordant : attendu {sha256}, reçu {somme} ({recu} octets) ; "
                "le fichier a été supprimé"
            )
        os.replace(partiel, destination)
        _etat(partiel).unlink(missing_ok=True)
        return Telechargement(destination, somme, recu, url, reprises)
    raise ErreurTelechargement(
        f"{url} : échec du téléchargement après {essais} tentative(s) : {derniere_erreur} ; "
        f"fichier partiel gardé pour la reprise : {partiel}"
    )

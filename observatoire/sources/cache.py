"""The download cache: one folder per source and a small JSON index.

Layout (``racine`` = :func:`observatoire.chemins.dossier_cache`)::

    racine/index.json                  what is cached: sha256, vintage, provenance, date
    racine/<rubrique>/<source_id>/...  the files (rubrique: iris, qpv_perimetres, admin,
                                       stats, grille)
    racine/.tmp/                       downloads in progress (*.part) and staging folders

A source is installed by renaming a complete staging folder into place, then
recording it in the index (written atomically): a source is "in the cache" only
if the index lists it *and* its file is there with the recorded size. Its content
is checked against the recorded sha256 (``sha256_fichier``: the installed file or
folder, which for archives differs from the downloaded ``sha256``) before it is
handed to a reader (:meth:`Cache.chemin_verifie`).

The index also keeps the sha256 of the first download of every stable official source
(``empreintes``), against which later downloads are checked.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from observatoire.chemins import dossier_cache
from observatoire.ecriture_atomique import ecrire_fichier_atomique, umask
from observatoire.rapport import ErreurDonnees
from observatoire.sources.integrite import sha256_chemin, valider_id_source, verifier_sha256

__all__ = ["Cache", "NOM_INDEX"]

NOM_INDEX = "index.json"
_VERSION = 1


@contextmanager
def _verrou(racine: Path):
    """Serialise read-modify-write of the index between processes (POSIX; no-op elsewhere)."""
    racine.mkdir(parents=True, exist_ok=True)
    with open(racine / ".index.lock", "a") as f:
        try:
            import fcntl
        except ImportError:  # pragma: no cover - Windows
            yield
            return
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def _maintenant() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat()


class Cache:
    """A download cache folder and its index.

    Parameters
    ----------
    racine : path, optional
        Cache folder; default ``--cache-dir`` > ``$OBSERVATOIRE_CACHE`` > checkout ``data/``
        > user data folder (see :func:`observatoire.chemins.dossier_cache`).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> c = Cache(tempfile.mkdtemp())
    >>> c.chemin("iris_contours_2020_dep13") is None
    True
    >>> d = c.preparer("iris_contours_2020_dep13")
    >>> _ = (d / "a.geojson").write_text("{}")
    >>> p = c.installer(d, "iris_contours_2020_dep13", "iris", fichier="a.geojson",
    ...                 sha256="0" * 64, provenance="test")
    >>> c.chemin("iris_contours_2020_dep13").name
    'a.geojson'
    """

    def __init__(self, racine: str | os.PathLike | None = None) -> None:
        self.racine = dossier_cache(racine).resolve()

    # -- index ------------------------------------------------------------------------------------
    @property
    def chemin_index(self) -> Path:
        """Path of ``index.json``."""
        return self.racine / NOM_INDEX

    def lire_index(self) -> dict:
        """Return the index (empty structure if there is none yet)."""
        if not self.chemin_index.is_file():
            return {"version": _VERSION, "sources": {}, "empreintes": {}}
        try:
            idx = json.loads(self.chemin_index.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise ErreurDonnees(
                f"{self.chemin_index} : index du cache de téléchargement corrompu ({exc})"
            ) from exc
        idx.setdefault("sources", {})
        idx.setdefault("empreintes", {})
        return idx

    def _ecrire_index(self, idx: dict) -> None:
        texte = json.dumps(idx, ensure_ascii=False, indent=2, sort_keys=True)
        ecrire_fichier_atomique(self.chemin_index, texte)

    def entrees(self) -> dict[str, dict]:
        """Return the index entries of the cached sources, by id."""
        return self.lire_index()["sources"]

    def entree(self, source_id: str) -> dict | None:
        """Return the index entry of a source, or ``None``."""
        return self.entrees().get(valider_id_source(source_id))

    # -- lookups ----------------------------------------------------------------------------------
    def chemin(self, source_id: str) -> Path | None:
        """Return the cached file of a source, or ``None`` if absent or incomplete."""
        e = self.entree(source_id)
        if e is None:
            return None
        p = self.racine / e["chemin"]
        if not p.resolve().is_relative_to(self.racine):
            raise ErreurDonnees(
                f"{self.chemin_index} : l'entrée {source_id!r} pointe hors du cache de "
                f"téléchargement ({p}) ; la supprimer avec `observatoire data fetch --sources "
                f"{source_id} --force`"
            )
        if not p.exists():
            return None
        if (
            p.is_file()
            and e.get("taille_fichier") is not None
            and p.stat().st_size != e["taille_fichier"]
        ):
            return None
        return p

    def chemin_verifie(self, source_id: str) -> Path | None:
        """Return the cached file of a source after checking its sha256 against the index.

        Returns ``None`` when the source is absent or incomplete (as :meth:`chemin`).

        Raises
        ------
        ErreurIntegrite
            The file's content differs from the recorded one (the message names the
            file, both checksums and the command that fetches it again).
        """
        p = self.chemin(source_id)
        if p is None:
            return None
        e = self.entree(source_id) or {}
        attendu = e.get("sha256_fichier") or e.get("sha256")
        depuis = " --from DIR" if e.get("catalogue") else ""
        verifier_sha256(
            p,
            str(attendu),
            quoi=f"l'index du cache {self.chemin_index}",
            remede=f"Le récupérer à nouveau : `observatoire data fetch --sources {source_id} "
            f"--force{depuis}`.",
        )
        return p

    def empreinte(self, cle: str) -> dict | None:
        """Return the pinned first-download checksum record of a source, or ``None``."""
        return self.lire_index()["empreintes"].get(cle)

    @contextmanager
    def _modifier_index(self):
        """Yield the index for modification; written atomically, under a lock, on exit."""
        with _verrou(self.racine):
            idx = self.lire_index()
            yield idx
            self._ecrire_index(idx)

    def noter_empreinte(self, cle: str, sha256: str, *, url: str, taille: int) -> None:
        """Pin the sha256 of a source's first download."""
        with self._modifier_index() as idx:
            idx["empreintes"][cle] = {
                "sha256": sha256,
                "url": url,
                "taille": taille,
                "date": _maintenant(),
            }

    def oublier_empreinte(self, cle: str) -> None:
        """Drop a pinned checksum (accept a new publication of the source)."""
        with self._modifier_index() as idx:
            idx["empreintes"].pop(cle, None)

    # -- installation -----------------------------------------------------------------------------
    @property
    def dossier_temp(self) -> Path:
        """Folder of downloads in progress and staging folders."""
        return self.racine / ".tmp"

    def preparer(self, source_id: str) -> Path:
        """Return a fresh, empty staging folder for a source."""
        valider_id_source(source_id)
        self.dossier_temp.mkdir(parents=True, exist_ok=True)
        return Path(tempfile.mkdtemp(prefix=f"{source_id}.", dir=self.dossier_temp))

    def installer(
        self,
        staging: Path,
        source_id: str,
        rubrique: str,
        *,
        fichier: str,
        sha256: str,
        provenance: str,
        **meta,
    ) -> Path:
        """Move a complete staging folder into place and record it in the index.

        Parameters
        ----------
        staging : Path
            Folder from :meth:`preparer`, holding the source's files.
        fichier : str
            Path, relative to the staging folder, of the file to hand to loaders
            (``"."`` for the folder itself).
        sha256 : str
            Checksum of what was downloaded/copied (the archive for archives).
        provenance : str
            Where it comes from (official URL or local store file), for ``data list``.
        **meta
            Other index fields (millesime, crs, couche, origine, licence, ...).

        Returns
        -------
        Path
            The installed file.
        """
        valider_id_source(source_id)
        valider_id_source(rubrique)
        final = self.racine / rubrique / source_id
        final.parent.mkdir(parents=True, exist_ok=True)
        if final.exists():
            ancien = self.dossier_temp / f"{source_id}.ancien"
            shutil.rmtree(ancien, ignore_errors=True)
            os.replace(final, ancien)
            os.replace(staging, final)
            shutil.rmtree(ancien, ignore_errors=True)
        else:
            os.replace(staging, final)
        cible = (final / fichier).resolve() if fichier != "." else final
        if not cible.is_relative_to(final.resolve()):
            raise ErreurDonnees(f"{staging} : {fichier!r} mène hors du dossier installé")
        os.chmod(final, 0o777 & ~umask())
        somme_fichier = sha256_chemin(cible)
        with self._modifier_index() as idx:
            idx["sources"][source_id] = {
                "id": source_id,
                "rubrique": rubrique,
                "chemin": cible.relative_to(self.racine).as_posix(),
                "sha256": sha256,
                "sha256_fichier": somme_fichier,
                "taille_fichier": cible.stat().st_size if cible.is_file() else None,
                "provenance": provenance,
                "date": _maintenant(),
                **meta,
            }
        return cible

    def retirer(self, source_id: str) -> None:
        """Remove a source from the cache (files and index entry)."""
        valider_id_source(source_id)
        with self._modifier_index() as idx:
            e = idx["sources"].pop(source_id, None)
        if e is not None:
            shutil.rmtree(self.racine / e["rubrique"] / source_id, ignore_errors=True)

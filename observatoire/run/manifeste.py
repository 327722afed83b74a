"""Run manifest: inputs with checksums and provenance, parameters, versions, timings.

The manifest (``manifest.json`` at the top of a territory's outputs) is the only
output that carries timestamps and timings; every other output is a
deterministic function of the inputs and parameters. It also lists every output
file with its byte checksum and a *content fingerprint* that ignores what
writers add by themselves (GeoPackage ``last_change`` dates, XLSX creation
dates, random element ids of generated HTML), so two runs can be compared file by file
(:func:`comparer_inventaires`).
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import re
import sqlite3
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

__all__ = [
    "NOM_MANIFESTE",
    "NOM_JOURNAL",
    "sha256_fichier",
    "empreinte_contenu",
    "inventaire",
    "Changements",
    "EtatSorties",
    "etat_sorties",
    "comparer_inventaires",
    "versions_paquets",
    "lire_manifeste",
]

NOM_MANIFESTE = "manifest.json"
NOM_JOURNAL = "run.log"
#: Files that legitimately differ between two identical runs (timestamps, timings).
HORS_COMPARAISON = frozenset({NOM_MANIFESTE, NOM_JOURNAL})

_PAQUETS = [
    "observatoire",
    "numpy",
    "pandas",
    "pyarrow",
    "geopandas",
    "shapely",
    "pyproj",
    "pyogrio",
    "rasterio",
    "folium",
    "branca",
    "mapclassify",
    "xstatic-leaflet",
    "pydantic",
    "pyyaml",
    "openpyxl",
    "jinja2",
    "click",
    "tqdm",
    "requests",
    "py7zr",
    "platformdirs",
]
_ID_ALEATOIRE = re.compile(rb"[0-9a-f]{32}")


def sha256_fichier(chemin: str | os.PathLike, *, bloc: int = 1 << 20) -> str:
    """Return the hexadecimal SHA-256 of a file, read in blocks.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "x"; _ = p.write_bytes(b"abc")
    >>> sha256_fichier(p)[:16]
    'ba7816bf8f01cfea'
    """
    h = hashlib.sha256()
    with open(chemin, "rb") as f:
        while morceau := f.read(bloc):
            h.update(morceau)
    return h.hexdigest()


def _empreinte_gpkg(chemin: Path) -> str:
    h = hashlib.sha256()
    con = sqlite3.connect(f"file:{chemin}?mode=ro", uri=True)
    try:
        tables = [
            r[0] for r in con.execute("SELECT table_name FROM gpkg_contents ORDER BY table_name")
        ]
        for t in tables:
            h.update(t.encode())
            cols = [r[1] for r in con.execute(f'PRAGMA table_info("{t}")')]
            h.update(repr(cols).encode())
            for ligne in con.execute(f'SELECT * FROM "{t}" ORDER BY 1'):
                h.update(repr(ligne).encode())
        for ligne in con.execute(
            "SELECT table_name, column_name, geometry_type_name, srs_id "
            "FROM gpkg_geometry_columns ORDER BY table_name"
        ):
            h.update(repr(ligne).encode())
    finally:
        con.close()
    return h.hexdigest()


def _empreinte_xlsx(chemin: Path) -> str:
    """Hash every part of the workbook but the document properties (creation dates)."""
    import zipfile

    h = hashlib.sha256()
    with zipfile.ZipFile(chemin) as z:
        for nom in sorted(z.namelist()):
            if nom.startswith("docProps/"):
                continue
            h.update(nom.encode())
            h.update(z.read(nom))
    return h.hexdigest()


def _empreinte_parquet(chemin: Path) -> str:
    import pyarrow.parquet as pq

    table = pq.read_table(chemin)
    h = hashlib.sha256(repr(table.schema.remove_metadata()).encode())
    for col in table.columns:
        h.update(repr(col.to_pylist()).encode())
    return h.hexdigest()


def empreinte_contenu(chemin: str | os.PathLike) -> str:
    """Fingerprint a file's *content*, ignoring writer timestamps and random ids.

    - GeoPackage: every feature/attribute table row and the geometry columns,
      not ``gpkg_contents.last_change``;
    - XLSX: every part of the workbook but ``docProps/`` (creation/modification dates);
    - Parquet: schema (without writer metadata) and values;
    - HTML/JS/JSON/SVG: bytes with 32-hex-digit ids replaced by a constant (the random
      element ids of folium pages, e.g. a notebook's map saved among the outputs; the
      run's own pages carry none);
    - anything else: the bytes.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> a = d / "a.html"; _ = a.write_text('<div id="map_0123456789abcdef0123456789abcdef">')
    >>> b = d / "b.html"; _ = b.write_text('<div id="map_fedcba9876543210fedcba9876543210">')
    >>> empreinte_contenu(a) == empreinte_contenu(b)
    True
    """
    chemin = Path(chemin)
    suffixe = chemin.suffix.lower()
    try:
        if suffixe == ".gpkg":
            return _empreinte_gpkg(chemin)
        if suffixe == ".xlsx":
            return _empreinte_xlsx(chemin)
        if suffixe == ".parquet":
            return _empreinte_parquet(chemin)
    except Exception:  # unreadable by the specialised reader: fall back to the bytes
        return sha256_fichier(chemin)
    if suffixe in {".html", ".htm", ".js", ".json", ".geojson", ".svg"}:
        return hashlib.sha256(_ID_ALEATOIRE.sub(b"ID", chemin.read_bytes())).hexdigest()
    return sha256_fichier(chemin)


def inventaire(dossier: str | os.PathLike) -> dict[str, dict]:
    """List every output file of ``dossier`` with size, SHA-256 and content fingerprint.

    Keys are POSIX paths relative to ``dossier``, sorted; the manifest and the log
    are left out (they change at every run by design).
    """
    dossier = Path(dossier)
    out: dict[str, dict] = {}
    for p in sorted(dossier.rglob("*")):
        if not p.is_file():
            continue
        rel = p.relative_to(dossier).as_posix()
        if rel in HORS_COMPARAISON:
            continue
        out[rel] = {
            "octets": p.stat().st_size,
            "sha256": sha256_fichier(p),
            "empreinte": empreinte_contenu(p),
        }
    return out


@dataclass
class EtatSorties:
    """What is on disk in an output folder, against what its own run recorded.

    Attributes
    ----------
    inventaire : dict
        :func:`inventaire` of the files on disk (every file, recorded or not).
    edites : list of str
        Files the run wrote whose bytes differ from its manifest (edited by hand).
    ajoutes : list of str
        Files on disk the run did not write (not in its manifest; all of them when the
        folder has no readable manifest).
    supprimes : list of str
        Files the run wrote that are no longer on disk.
    """

    inventaire: dict[str, dict]
    edites: list[str] = field(default_factory=list)
    ajoutes: list[str] = field(default_factory=list)
    supprimes: list[str] = field(default_factory=list)

    @property
    def intact(self) -> bool:
        """True when the folder holds exactly what its run wrote."""
        return not (self.edites or self.ajoutes or self.supprimes)

    @property
    def non_ecrits(self) -> list[str]:
        """Files whose current content was not written by the run (edited or added)."""
        return sorted(set(self.edites) | set(self.ajoutes))


def etat_sorties(dossier: str | os.PathLike, manifeste: dict | None = None) -> EtatSorties:
    """Inventory of the files on disk, compared with the folder's manifest.

    Every file is hashed; the content fingerprint recorded in the manifest is reused
    for files whose bytes are those recorded (so an untouched folder costs one sha256
    per file).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / "a.csv").write_text("1"); _ = (d / "b.csv").write_text("2")
    >>> m = {"sorties": inventaire(d)}
    >>> _ = (d / "a.csv").write_text("9"); (d / "b.csv").unlink(); _ = (d / "c.txt").write_text("")
    >>> e = etat_sorties(d, m)
    >>> e.edites, e.ajoutes, e.supprimes
    (['a.csv'], ['c.txt'], ['b.csv'])
    """
    dossier = Path(dossier)
    if manifeste is None:
        manifeste = lire_manifeste(dossier)
    enregistre = (manifeste or {}).get("sorties") or {}
    out: dict[str, dict] = {}
    etat = EtatSorties(out)
    for p in sorted(dossier.rglob("*")) if dossier.is_dir() else []:
        if not p.is_file():
            continue
        rel = p.relative_to(dossier).as_posix()
        if rel in HORS_COMPARAISON:
            continue
        somme = sha256_fichier(p)
        connu = enregistre.get(rel)
        if connu is not None and connu.get("sha256") == somme and connu.get("empreinte"):
            empreinte = connu["empreinte"]
        else:
            empreinte = empreinte_contenu(p)
        out[rel] = {"octets": p.stat().st_size, "sha256": somme, "empreinte": empreinte}
        if connu is None:
            etat.ajoutes.append(rel)
        elif connu.get("sha256") != somme:
            etat.edites.append(rel)
    etat.supprimes = sorted(set(enregistre) - set(out))
    return etat


@dataclass
class Changements:
    """Difference between two output inventories (relative paths).

    ``edites_main``, ``ajoutes_main`` and ``supprimes_main`` list what had been changed
    by hand in the previous outputs since their run (see :class:`EtatSorties`);
    ``conserves_dans`` is the folder the files the run did not write were moved to.
    """

    ajoutes: list[str] = field(default_factory=list)
    supprimes: list[str] = field(default_factory=list)
    modifies: list[str] = field(default_factory=list)
    inchanges: list[str] = field(default_factory=list)
    edites_main: list[str] = field(default_factory=list)
    ajoutes_main: list[str] = field(default_factory=list)
    supprimes_main: list[str] = field(default_factory=list)
    conserves_dans: str | None = None

    @property
    def aucun(self) -> bool:
        """True when both inventories hold the same files with the same content."""
        return not (
            self.ajoutes
            or self.supprimes
            or self.modifies
            or self.edites_main
            or self.ajoutes_main
            or self.supprimes_main
        )

    def noter_retouches(self, etat: EtatSorties) -> None:
        """Record what had been changed by hand in the previous outputs."""
        self.edites_main = list(etat.edites)
        self.ajoutes_main = list(etat.ajoutes)
        self.supprimes_main = list(etat.supprimes)

    def resume(self, limite: int = 20) -> str:
        """Human-readable summary (hand changes first: they are what a user must see)."""
        retouches = []
        for titre, liste in (
            ("retouché à la main depuis leur exécution", self.edites_main),
            ("non écrit par leur exécution", self.ajoutes_main),
            ("supprimé à la main depuis leur exécution", self.supprimes_main),
        ):
            for p in liste[:limite]:
                retouches.append(f"  {titre} : {p}")
            if len(liste) > limite:
                retouches.append(f"  ... et {len(liste) - limite} autre(s) ({titre})")
        if self.conserves_dans:
            n = len(set(self.edites_main) | set(self.ajoutes_main))
            retouches.append(
                f"  {n} fichier(s) retouché(s) à la main ou non écrit(s) par une exécution "
                f"déplacé(s) dans {self.conserves_dans}"
            )
        if self.aucun:
            return f"aucun changement ({len(self.inchanges)} fichiers au contenu identique)"
        lignes = [
            f"{len(self.modifies)} modifié(s), {len(self.ajoutes)} ajouté(s), "
            f"{len(self.supprimes)} supprimé(s), {len(self.inchanges)} inchangé(s)"
        ]
        if retouches:
            lignes[0] += (
                f" ; les sorties précédentes avaient été retouchées à la main "
                f"({len(self.edites_main)} retouché(s), {len(self.ajoutes_main)} ajouté(s), "
                f"{len(self.supprimes_main)} supprimé(s))"
            )
            lignes += retouches
        for titre, liste in (
            ("modifié", self.modifies),
            ("ajouté", self.ajoutes),
            ("supprimé", self.supprimes),
        ):
            for p in liste[:limite]:
                lignes.append(f"  {titre} : {p}")
            if len(liste) > limite:
                lignes.append(f"  ... et {len(liste) - limite} autre(s) ({titre})")
        return "\n".join(lignes)

    def to_dict(self) -> dict:
        """JSON-ready form (for the manifest)."""
        return {
            "ajoutes": self.ajoutes,
            "supprimes": self.supprimes,
            "modifies": self.modifies,
            "n_inchanges": len(self.inchanges),
            "edites_a_la_main": self.edites_main,
            "ajoutes_a_la_main": self.ajoutes_main,
            "supprimes_a_la_main": self.supprimes_main,
            "conserves_dans": self.conserves_dans,
        }


def comparer_inventaires(ancien: dict[str, dict], nouveau: dict[str, dict]) -> Changements:
    """Compare two :func:`inventaire` results by content fingerprint.

    Examples
    --------
    >>> a = {"x.csv": {"empreinte": "1"}, "y.csv": {"empreinte": "2"}}
    >>> n = {"x.csv": {"empreinte": "1"}, "y.csv": {"empreinte": "3"}, "z.csv": {"empreinte": "4"}}
    >>> c = comparer_inventaires(a, n)
    >>> c.modifies, c.ajoutes, c.supprimes, c.inchanges
    (['y.csv'], ['z.csv'], [], ['x.csv'])
    """
    c = Changements()
    for rel in sorted(set(ancien) | set(nouveau)):
        if rel not in ancien:
            c.ajoutes.append(rel)
        elif rel not in nouveau:
            c.supprimes.append(rel)
        elif ancien[rel].get("empreinte") != nouveau[rel].get("empreinte"):
            c.modifies.append(rel)
        else:
            c.inchanges.append(rel)
    return c


def versions_paquets() -> dict[str, str]:
    """Versions of Python, the key packages and the GEOS/PROJ/GDAL libraries."""
    out = {"python": platform.python_version(), "plateforme": platform.platform()}
    for nom in _PAQUETS:
        try:
            out[nom] = metadata.version(nom)
        except metadata.PackageNotFoundError:
            continue
    try:
        import shapely

        out["GEOS"] = shapely.geos_version_string
    except Exception:  # pragma: no cover
        pass
    try:
        import pyproj

        out["PROJ"] = pyproj.proj_version_str
    except Exception:  # pragma: no cover
        pass
    try:
        import pyogrio

        out["GDAL"] = pyogrio.__gdal_version_string__
    except Exception:  # pragma: no cover
        pass
    return out


def lire_manifeste(dossier: str | os.PathLike) -> dict | None:
    """Read ``manifest.json`` of an output folder, ``None`` if absent or unreadable."""
    p = Path(dossier) / NOM_MANIFESTE
    try:
        return json.loads(p.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None

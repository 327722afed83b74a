"""Run manifest: inputs with checksums and provenance, parameters, versions, timings.

The manifest (``manifest.json`` at the top of a territory's outputs) is the only
output that carries timestamps and timings; every other output is a
deterministic function of the inputs and parameters. It also lists every output
file with its byte checksum and a *content fingerprint* that ignores what
writers add by themselves (GeoPackage ``last_change`` dates, XLSX creation
dates, folium's random element ids), so two runs can be compared file by file
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
    "comparer_inventaires",
    "versions_paquets",
    "lire_manifeste",
]

NOM_MANIFESTE = "manifest.json"
NOM_JOURNAL = "run.log"
#: Files that legitimately differ between two identical runs (timestamps, timings).
HORS_COMPARAISON = frozenset({NOM_MANIFESTE, NOM_JOURNAL})

_PAQUETS = [
    "observatoire", "numpy", "pandas", "pyarrow", "geopandas", "shapely", "pyproj", "pyogrio",
    "rasterio", "folium", "branca", "mapclassify", "xstatic-leaflet", "pydantic", "pyyaml",
    "openpyxl", "jinja2", "click", "tqdm", "requests", "py7zr", "platformdirs",
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
        tables = [r[0] for r in con.execute(
            "SELECT table_name FROM gpkg_contents ORDER BY table_name")]
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
    - HTML/JS/JSON/SVG: bytes with 32-hex-digit ids (folium's random element ids)
      replaced by a constant;
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
class Changements:
    """Difference between two output inventories (relative paths)."""

    ajoutes: list[str] = field(default_factory=list)
    supprimes: list[str] = field(default_factory=list)
    modifies: list[str] = field(default_factory=list)
    inchanges: list[str] = field(default_factory=list)

    @property
    def aucun(self) -> bool:
        """True when both inventories hold the same files with the same content."""
        return not (self.ajoutes or self.supprimes or self.modifies)

    def resume(self, limite: int = 20) -> str:
        """Human-readable summary."""
        if self.aucun:
            return f"no change ({len(self.inchanges)} files identical in content)"
        lignes = [
            f"{len(self.modifies)} modified, {len(self.ajoutes)} added, "
            f"{len(self.supprimes)} removed, {len(self.inchanges)} unchanged"
        ]
        for titre, liste in (("modified", self.modifies), ("added", self.ajoutes),
                             ("removed", self.supprimes)):
            for p in liste[:limite]:
                lignes.append(f"  {titre}: {p}")
            if len(liste) > limite:
                lignes.append(f"  ... and {len(liste) - limite} more {titre}")
        return "\n".join(lignes)

    def to_dict(self) -> dict:
        """JSON-ready form (for the manifest)."""
        return {"ajoutes": self.ajoutes, "supprimes": self.supprimes,
                "modifies": self.modifies, "n_inchanges": len(self.inchanges)}


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

"""Inputs of a territory configuration: a catalogue id or a path → a file and its provenance."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from observatoire.config import ErreurConfig, SourceRef
from observatoire.sources.integrite import ErreurIntegrite, sha256_memo

__all__ = ["Entree", "resoudre_source"]


@dataclass(frozen=True)
class Entree:
    """A resolved input: configuration key, source id or path, file, provenance."""

    cle: str
    source: str
    chemin: Path
    couche: str | None = None
    edition: int | None = None
    provenance: dict = field(default_factory=dict)
    #: sha256 of the file when it was resolved (checked against the cache index or the
    #: store's catalogue for source ids; recorded as is for paths).
    sha256: str | None = None


def _simple(d: dict) -> dict:
    return {
        k: (v if isinstance(v, str | int | float | bool | type(None)) else str(v))
        for k, v in d.items()
        if v is not None
    }


def _provenance(source_id: str, depuis: Path | None, cache) -> dict:
    """Return what the sources package knows of a source id (catalogue, registry)."""
    try:
        from observatoire.sources import Cache, catalogue_pour, charger_registre
    except ImportError:  # pragma: no cover
        return {}
    out: dict = {}
    officielle = source_id
    try:
        if depuis is not None:
            cat = catalogue_pour(depuis)
            e = cat[source_id]
            out.update(
                _simple(
                    {
                        "catalogue": cat.nom,
                        "millesime": e.millesime,
                        "provenance": " ".join(e.provenance.split()),
                        "sha256_catalogue": e.sha256,
                    }
                )
            )
            if getattr(e, "communes_couvertes", None):
                out["communes_couvertes"] = list(e.communes_couvertes)
            officielle = e.source_officielle or source_id
        else:
            e = Cache(cache).entree(source_id)
            if e:
                out.update(_simple({f"cache_{k}": v for k, v in e.items()}))
    except Exception:  # provenance is informative: never fail the run on it
        pass
    try:
        reg = charger_registre()
        if officielle in reg:
            s = reg[officielle]
            out.update(
                _simple(
                    {
                        "source_officielle": s.id,
                        "producteur": s.producteur,
                        "jeu": s.jeu,
                        "edition": s.edition,
                        "millesime_officiel": s.millesime,
                        "licence": s.licence,
                        "url": s.acces.url if s.acces else None,
                    }
                )
            )
    except Exception:
        pass
    return out


def resoudre_source(
    ref: SourceRef,
    cle: str,
    *,
    dossier_config: Path | None = None,
    depuis: Path | None = None,
    cache: str | os.PathLike | None = None,
) -> Entree:
    """Find the file of one configuration input.

    A path is tried relative to the configuration's folder, then to ``depuis``; a
    source id goes through :func:`observatoire.sources.chemin_source`.

    Raises
    ------
    ErreurConfig
        Naming the key, the source and where it was looked for.
    """
    if ref.est_chemin:
        p = Path(ref.source).expanduser()
        essais = (
            [p]
            if p.is_absolute()
            else [b / p for b in (dossier_config, depuis, Path.cwd()) if b is not None]
        )
        for essai in essais:
            if essai.is_file():
                return Entree(
                    cle,
                    ref.source,
                    essai.resolve(),
                    ref.couche,
                    ref.edition,
                    {"fichier": str(essai.resolve())},
                    sha256=sha256_memo(essai.resolve()),
                )
        raise ErreurConfig(
            f"{cle} : fichier introuvable : {ref.source} (cherché dans : "
            f"{', '.join(str(e) for e in essais)}) ; attendu : un fichier existant ou un id de "
            "source (observatoire data list)"
        )
    try:
        from observatoire.sources import chemin_source
    except ImportError as exc:  # pragma: no cover - sources package always installed
        raise ErreurConfig(
            f"{cle} : l'id de source {ref.source!r} ne peut pas être résolu : "
            f"le paquet sources n'est pas disponible ({exc})"
        ) from None
    try:
        chemin = Path(chemin_source(ref.source, depuis=depuis, cache=cache))
    except ErreurIntegrite as exc:  # content differs from its record: bad data (exit 4)
        raise ErreurIntegrite(f"{cle} : {exc}") from None
    except (KeyError, LookupError, FileNotFoundError, ValueError) as exc:
        ou = f"le magasin local {depuis}" if depuis else "le cache de téléchargement"
        raise ErreurConfig(
            f"{cle} : source {ref.source!r} introuvable dans {ou} : {exc} "
            "(attendu : un id de source de `observatoire data list`, ou un chemin de fichier ; "
            "la récupérer avec `observatoire data fetch` ou donner --from DIR)"
        ) from None
    if not chemin.is_file():
        raise ErreurConfig(
            f"{cle} : la source {ref.source!r} mène à {chemin}, qui n'existe pas "
            "(attendu : un fichier existant)"
        )
    prov = {"source": ref.source, **_provenance(ref.source, depuis, cache)}
    if depuis is not None:
        prov.setdefault("depuis", str(depuis))
    edition = (
        ref.edition
        if ref.edition is not None
        else prov.get("millesime", prov.get("cache_millesime"))
    )
    couche = ref.couche if ref.couche is not None else _couche_catalogue(ref.source, depuis)
    # chemin_source checked the sha256 (memoised: this is not a second read)
    return Entree(
        cle,
        ref.source,
        chemin.resolve(),
        couche,
        edition,
        prov,
        sha256=sha256_memo(chemin.resolve()) if chemin.is_file() else None,
    )


def _couche_catalogue(source_id: str, depuis: Path | None) -> str | None:
    if depuis is None:
        return None
    try:
        from observatoire.sources import catalogue_pour

        return catalogue_pour(depuis)[source_id].couche
    except Exception:
        return None

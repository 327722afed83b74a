"""Safe archive extraction: path traversal, absolute paths and symlinks are refused."""

from __future__ import annotations

import io
import stat
import struct
import zipfile
import zlib

import py7zr
import pytest

from observatoire.rapport import ErreurDonnees
from observatoire.sources import extraire_archive, type_archive


def _zip(chemin, membres: dict[str, bytes], liens: dict[str, str] | None = None):
    with zipfile.ZipFile(chemin, "w") as z:
        for nom, contenu in membres.items():
            z.writestr(nom, contenu)
        for nom, cible in (liens or {}).items():
            info = zipfile.ZipInfo(nom)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            z.writestr(info, cible)
    return chemin


def _7z(chemin, membres: dict[str, bytes]):
    """Write a 7z archive; member names py7zr refuses to write are patched in afterwards."""
    bruts = {}
    with py7zr.SevenZipFile(chemin, "w") as z:
        z.set_encoded_header_mode(False)  # plain header, so that names can be patched
        for nom, contenu in membres.items():
            sur = nom.replace("..", "zz").lstrip("/") if ".." in nom else nom
            bruts[sur] = nom
            z.writef(io.BytesIO(contenu), sur)
    donnees = bytearray(chemin.read_bytes())
    for sur, nom in bruts.items():
        if sur != nom:
            a, b = sur.encode("utf-16-le"), nom.encode("utf-16-le")
            i = donnees.index(a)
            donnees[i : i + len(a)] = b
    # recompute the next-header CRC and the start-header CRC (7z signature header layout)
    decalage, taille = struct.unpack_from("<QQ", donnees, 12)
    entete = donnees[32 + decalage : 32 + decalage + taille]
    struct.pack_into("<I", donnees, 28, zlib.crc32(entete))
    struct.pack_into("<I", donnees, 8, zlib.crc32(donnees[12:32]))
    chemin.write_bytes(bytes(donnees))
    return chemin


def test_zip_et_7z_extraits_avec_archive_imbriquee(tmp_path):
    interne = _7z(tmp_path / "interne.7z", {"d/b.txt": b"bbb"})
    archive = _zip(tmp_path / "a.zip", {"x/a.txt": b"aaa", "x/interne.7z": interne.read_bytes()})
    assert type_archive(archive) == "zip" and type_archive(interne) == "7z"
    dest = extraire_archive(archive, tmp_path / "sortie")
    assert (dest / "x" / "a.txt").read_bytes() == b"aaa"
    assert (dest / "x" / "interne" / "d" / "b.txt").read_bytes() == b"bbb"
    assert not (dest / "x" / "interne.7z").exists()


@pytest.mark.parametrize(
    "nom", ["../evil.txt", "a/../../evil.txt", "/tmp/evil.txt", "C:/evil.txt", "..\\evil.txt"]
)
def test_zip_traversee_refusee_rien_ecrit(tmp_path, nom):
    archive = _zip(tmp_path / "a.zip", {"ok.txt": b"1", nom: b"pwned"})
    dest = tmp_path / "sous" / "sortie"
    with pytest.raises(ErreurDonnees, match="sort du dossier d'extraction"):
        extraire_archive(archive, dest)
    assert not dest.exists()
    assert not (tmp_path / "evil.txt").exists() and not (tmp_path / "sous" / "evil.txt").exists()
    assert list((tmp_path / "sous").iterdir()) == []  # no staging folder left


def test_zip_lien_symbolique_refuse(tmp_path):
    archive = _zip(tmp_path / "a.zip", {"ok.txt": b"1"}, liens={"lien": "/etc/passwd"})
    with pytest.raises(ErreurDonnees, match="'lien' est un lien symbolique"):
        extraire_archive(archive, tmp_path / "sortie")
    assert not (tmp_path / "sortie").exists()


@pytest.mark.parametrize("nom", ["../evil.txt", "d/../../evil.txt"])
def test_7z_traversee_refusee(tmp_path, nom):
    archive = _7z(tmp_path / "a.7z", {"ok.txt": b"1", nom: b"pwned"})
    with pytest.raises(ErreurDonnees, match="sort du dossier d'extraction"):
        extraire_archive(archive, tmp_path / "sous" / "sortie")
    assert not (tmp_path / "evil.txt").exists() and not (tmp_path / "sous" / "evil.txt").exists()
    assert not (tmp_path / "sous" / "sortie").exists()


def test_7z_lien_symbolique_refuse(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    (src / "ok.txt").write_text("1")
    (src / "lien").symlink_to("/etc/passwd")
    archive = tmp_path / "a.7z"
    with py7zr.SevenZipFile(archive, "w") as z:
        z.write(src / "ok.txt", "ok.txt")
        z.write(src / "lien", "lien")
    with pytest.raises(ErreurDonnees, match="lien symbolique"):
        extraire_archive(archive, tmp_path / "sortie")
    assert not (tmp_path / "sortie").exists()


def test_pas_une_archive_ou_corrompue(tmp_path):
    (tmp_path / "a.geojson").write_text("{}")
    with pytest.raises(ErreurDonnees, match="ni une archive zip ni une archive 7z"):
        extraire_archive(tmp_path / "a.geojson", tmp_path / "s")
    (tmp_path / "b.zip").write_bytes(b"PK\x03\x04" + b"\x00" * 40)
    with pytest.raises(ErreurDonnees, match="archive zip corrompue"):
        extraire_archive(tmp_path / "b.zip", tmp_path / "s")
    assert not (tmp_path / "s").exists()


def test_destination_existante_remplacee_seulement_apres_succes(tmp_path):
    dest = tmp_path / "sortie"
    extraire_archive(_zip(tmp_path / "v1.zip", {"a.txt": b"v1"}), dest)
    mauvaise = _zip(tmp_path / "v2.zip", {"a.txt": b"v2", "../x": b"!"})
    with pytest.raises(ErreurDonnees):
        extraire_archive(mauvaise, dest)
    assert (dest / "a.txt").read_bytes() == b"v1"
    extraire_archive(_zip(tmp_path / "v3.zip", {"b.txt": b"v3"}), dest)
    assert sorted(p.name for p in dest.iterdir()) == ["b.txt"]

"""A local HTTP server on 127.0.0.1 for the acquisition tests (official hosts are unreachable).

Serves the files of a folder, honours ``Range: bytes=N-`` (206 + Content-Range), and can
be told to cut the connection in the middle of the body of the next N responses of a
path, or to ignore ranges. Every request (path with query, Range header) is journaled.
"""

from __future__ import annotations

import hashlib
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlparse


class _Gestionnaire(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):  # silence
        pass

    def do_GET(self):  # noqa: N802 - http.server API
        srv = self.server
        url = urlparse(self.path)
        chemin = unquote(url.path)
        srv.journal.append(
            {"chemin": chemin, "requete": self.path, "range": self.headers.get("Range")}
        )
        if chemin in srv.remplacements:
            fichier = srv.remplacements[chemin]
        else:
            fichier = srv.racine / chemin.lstrip("/")
            if not fichier.resolve().is_relative_to(srv.racine.resolve()):
                fichier = srv.racine / "__interdit__"
        if not fichier.is_file():
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        donnees = fichier.read_bytes()
        etag = '"' + hashlib.sha256(donnees).hexdigest()[:16] + '"'
        debut = 0
        rng = self.headers.get("Range")
        si = self.headers.get("If-Range")
        srv.journal[-1]["if_range"] = si
        if si is not None and si != etag:  # RFC 9110: changed representation → whole file
            rng = None
        if rng and srv.accepter_range and rng.startswith("bytes=") and rng.endswith("-"):
            debut = int(rng[6:-1])
            if debut >= len(donnees):
                self.send_response(416)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {debut}-{len(donnees) - 1}/{len(donnees)}")
        else:
            self.send_response(200)
        corps = donnees[debut:]
        self.send_header("Content-Length", str(len(corps)))
        self.send_header("ETag", etag)
        self.send_header("Content-Type", "application/octet-stream")
        self.end_headers()
        if srv.coupures.get(chemin, 0) > 0:
            srv.coupures[chemin] -= 1
            self.wfile.write(corps[: len(corps) // 2])
            self.wfile.flush()
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        self.wfile.write(corps)


class ServeurLocal:
    """Context manager running the server in a daemon thread."""

    def __init__(self, racine: Path) -> None:
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Gestionnaire)
        self.httpd.racine = Path(racine)
        self.httpd.journal = []
        self.httpd.coupures = {}
        self.httpd.remplacements = {}
        self.httpd.accepter_range = True
        self.fil = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        hote, port = self.httpd.server_address[:2]
        return f"http://{hote}:{port}"

    @property
    def journal(self) -> list[dict]:
        return self.httpd.journal

    def couper(self, chemin: str, fois: int = 1) -> None:
        """Cut the next ``fois`` responses of ``chemin`` in the middle of the body."""
        self.httpd.coupures[chemin] = fois

    def remplacer(self, chemin: str, fichier: Path) -> None:
        """Serve ``fichier`` at ``chemin`` (the producer "republished" the file)."""
        self.httpd.remplacements[chemin] = Path(fichier)

    def __enter__(self) -> ServeurLocal:
        self.fil.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.fil.join(timeout=5)

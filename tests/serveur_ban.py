"""A local mock of the Base Adresse Nationale batch CSV geocoder (``POST /search/csv/``).

It answers the service's contract: a multipart form with ``data`` (the CSV file),
``columns`` (the columns making the query) and ``postcode``; the answer is the same
CSV with ``latitude, longitude, result_label, result_score`` added. Known addresses
(query text → (longitude, latitude, score)) are answered; others get empty results.
Every request is journaled (number of addresses received).
"""

from __future__ import annotations

import csv
import io
import threading
from email.parser import BytesParser
from email.policy import default
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class _Gestionnaire(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):  # silence
        pass

    def do_POST(self):  # noqa: N802 - http.server API
        n = int(self.headers.get("Content-Length", 0))
        corps = self.rfile.read(n)
        entete = f"Content-Type: {self.headers['Content-Type']}\r\n\r\n".encode()
        msg = BytesParser(policy=default).parsebytes(entete + corps)
        champs: dict[str, list] = {}
        for part in msg.iter_parts():
            nom = part.get_param("name", header="content-disposition")
            champs.setdefault(nom, []).append(part.get_payload(decode=True))
        donnees = champs["data"][0].decode("utf-8")
        colonnes = [c.decode() for c in champs.get("columns", [])]
        lignes = list(csv.DictReader(io.StringIO(donnees)))
        self.server.journal.append(len(lignes))
        sortie = io.StringIO()
        noms = list(lignes[0].keys()) if lignes else ["id"]
        w = csv.DictWriter(
            sortie, fieldnames=[*noms, "latitude", "longitude", "result_label", "result_score"]
        )
        w.writeheader()
        for ligne in lignes:
            requete = " ".join(ligne[c] for c in colonnes if ligne.get(c)).strip().lower()
            r = self.server.adresses.get(requete)
            w.writerow(
                {
                    **ligne,
                    "latitude": r[1] if r else "",
                    "longitude": r[0] if r else "",
                    "result_label": requete if r else "",
                    "result_score": r[2] if r else "",
                }
            )
        octets = sortie.getvalue().encode("utf-8")
        self.send_response(200)
        self.send_header("Content-Type", "text/csv; charset=utf-8")
        self.send_header("Content-Length", str(len(octets)))
        self.end_headers()
        self.wfile.write(octets)


class ServeurBan:
    """Context manager: the mock geocoder on 127.0.0.1 (``url``, ``journal``)."""

    def __init__(self, adresses: dict[str, tuple[float, float, float]]):
        self.adresses = {k.lower(): v for k, v in adresses.items()}

    def __enter__(self):
        self.srv = ThreadingHTTPServer(("127.0.0.1", 0), _Gestionnaire)
        self.srv.adresses = self.adresses
        self.srv.journal = []
        self.fil = threading.Thread(target=self.srv.serve_forever, daemon=True)
        self.fil.start()
        self.url = f"http://127.0.0.1:{self.srv.server_port}/search/csv/"
        self.journal = self.srv.journal
        return self

    def __exit__(self, *exc):
        self.srv.shutdown()
        self.srv.server_close()

#!/usr/bin/env python3
"""A tiny OpenID Connect issuer for the standalone demo (development only).

Serves discovery and a JWKS on 127.0.0.1 and mints RS256 access tokens on request, using only
the Python standard library and the openssl command line for the RSA key and signatures.

  python3 demo/issuer.py --port 9000 --state-dir /tmp/x
  curl 'http://127.0.0.1:9000/mint?aud=api://orders&scope=orders.read&sub=alice'

/mint exists only because this is a demo issuer: a real identity provider issues tokens
through OAuth grants.
"""
import argparse
import base64
import json
import os
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class SigningKey:
    def __init__(self, state_dir: str):
        self.path = os.path.join(state_dir, "issuer-key.pem")
        if not os.path.exists(self.path):
            subprocess.run(
                ["openssl", "genrsa", "-out", self.path, "2048"],
                check=True, capture_output=True)
            os.chmod(self.path, 0o600)
        out = subprocess.run(
            ["openssl", "rsa", "-in", self.path, "-noout", "-modulus"],
            check=True, capture_output=True, text=True).stdout.strip()
        modulus = int(out.split("=", 1)[1], 16)
        self.n = b64url(modulus.to_bytes((modulus.bit_length() + 7) // 8, "big"))
        self.e = b64url((65537).to_bytes(3, "big"))
        self.kid = b64url(subprocess.run(
            ["openssl", "dgst", "-sha256", "-binary"], input=self.n.encode(),
            check=True, capture_output=True).stdout)[:16]
        self.lock = threading.Lock()

    def jwk(self):
        return {"kty": "RSA", "use": "sig", "alg": "RS256", "kid": self.kid,
                "n": self.n, "e": self.e}

    def sign(self, header: dict, claims: dict) -> str:
        signing_input = (b64url(json.dumps(header, separators=(",", ":")).encode()) + "."
                         + b64url(json.dumps(claims, separators=(",", ":")).encode()))
        with self.lock:
            sig = subprocess.run(
                ["openssl", "dgst", "-sha256", "-sign", self.path],
                input=signing_input.encode(), check=True, capture_output=True).stdout
        return signing_input + "." + b64url(sig)


def make_handler(issuer: str, key: SigningKey):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, fmt, *args):  # keep the demo output readable
            pass

        def send_json(self, status, body):
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):
            url = urlparse(self.path)
            if url.path == "/.well-known/openid-configuration":
                self.send_json(200, {
                    "issuer": issuer,
                    "jwks_uri": issuer + "/jwks",
                    "id_token_signing_alg_values_supported": ["RS256"],
                    "response_types_supported": ["code"],
                    "subject_types_supported": ["public"],
                    "authorization_endpoint": issuer + "/authorize",
                    "token_endpoint": issuer + "/token",
                })
            elif url.path == "/jwks":
                self.send_json(200, {"keys": [key.jwk()]})
            elif url.path == "/mint":
                q = {k: v[0] for k, v in parse_qs(url.query).items()}
                now = int(time.time())
                claims = {
                    "iss": issuer,
                    "sub": q.get("sub", "demo-user"),
                    "aud": q.get("aud", "api://orders"),
                    "azp": q.get("client", "demo-client"),
                    "scope": q.get("scope", ""),
                    "iat": now,
                    "nbf": now,
                    "exp": now + int(q.get("ttl", "3600")),
                }
                if "email" in q:
                    claims["email"] = q["email"]
                    claims["email_verified"] = True
                token = key.sign({"alg": "RS256", "typ": "JWT", "kid": key.kid}, claims)
                data = token.encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            else:
                self.send_json(404, {"error": "not_found"})

    return Handler


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--state-dir", required=True)
    a = p.parse_args()
    os.makedirs(a.state_dir, exist_ok=True)
    issuer = "http://127.0.0.1:%d" % a.port
    key = SigningKey(a.state_dir)
    server = ThreadingHTTPServer(("127.0.0.1", a.port), make_handler(issuer, key))
    print("issuer %s serving discovery and JWKS (kid %s)" % (issuer, key.kid), flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())

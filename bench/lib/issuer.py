"""A local OpenID Connect issuer for the benchmark: one RSA-2048 key made per run.

Mints RS256 access tokens into files (one token a line), then serves OIDC discovery and
the JWKS over plain HTTP on 127.0.0.1 until it is terminated. Every proxy under test
fetches its keys from here, so they all validate the very same tokens.
"""

import argparse
import base64
import json
import os
import signal
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

KID = "bench-key-1"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def uint_b64url(n: int) -> str:
    return b64url(n.to_bytes((n.bit_length() + 7) // 8, "big"))


_key = None


def _init_worker(pem: bytes) -> None:
    global _key
    _key = serialization.load_pem_private_key(pem, password=None)


def _mint(args) -> str:
    issuer, audience, start, count, now = args
    header = b64url(json.dumps({"alg": "RS256", "typ": "JWT", "kid": KID}).encode())
    out = []
    for i in range(start, start + count):
        claims = {
            "iss": issuer,
            "aud": audience,
            "sub": f"user-{i:06d}",
            "email": f"user-{i:06d}@bench.example",
            "email_verified": True,
            "scope": "openid bench.read",
            "azp": "bench-client",
            "iat": now,
            "nbf": now - 5,
            "exp": now + 3600,
            "jti": f"bench-{now}-{i}",
        }
        payload = b64url(json.dumps(claims, separators=(",", ":")).encode())
        signing_input = f"{header}.{payload}".encode("ascii")
        sig = _key.sign(signing_input, padding.PKCS1v15(), hashes.SHA256())
        out.append(f"{header}.{payload}.{b64url(sig)}")
    return "\n".join(out)


def mint_file(path, pem, issuer, audience, count, start, workers):
    now = int(time.time())
    chunk = max(1, (count + workers * 4 - 1) // (workers * 4))
    jobs = [
        (issuer, audience, s, min(chunk, start + count - s), now)
        for s in range(start, start + count, chunk)
    ]
    with ProcessPoolExecutor(workers, initializer=_init_worker, initargs=(pem,)) as pool:
        with open(path, "w") as f:
            for block in pool.map(_mint, jobs):
                f.write(block + "\n")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--audience", required=True)
    p.add_argument("--out", required=True, help="directory for the token files")
    p.add_argument(
        "--tokens",
        action="append",
        default=[],
        metavar="NAME=COUNT",
        help="write COUNT distinct tokens to OUT/NAME.txt (repeatable)",
    )
    args = p.parse_args()
    issuer = f"http://127.0.0.1:{args.port}"

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    pub = key.public_key().public_numbers()
    jwks = json.dumps(
        {
            "keys": [
                {
                    "kty": "RSA",
                    "use": "sig",
                    "alg": "RS256",
                    "kid": KID,
                    "n": uint_b64url(pub.n),
                    "e": uint_b64url(pub.e),
                }
            ]
        }
    ).encode()
    discovery = json.dumps(
        {
            "issuer": issuer,
            "jwks_uri": f"{issuer}/jwks",
            "authorization_endpoint": f"{issuer}/authorize",
            "token_endpoint": f"{issuer}/token",
            "userinfo_endpoint": f"{issuer}/userinfo",
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "scopes_supported": ["openid", "email", "bench.read"],
            "claims_supported": ["sub", "email", "email_verified", "iss", "aud"],
        }
    ).encode()

    started = time.time()
    start = 0
    workers = max(1, os.cpu_count() or 1)
    for spec in args.tokens:
        name, count = spec.split("=")
        mint_file(
            os.path.join(args.out, f"{name}.txt"),
            pem,
            issuer,
            args.audience,
            int(count),
            start,
            workers,
        )
        start += int(count)
    minted = start

    hits = {}

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self):
            path = self.path.split("?")[0]
            if path != "/stats":
                hits[path] = hits.get(path, 0) + 1
            if path == "/stats":
                body = json.dumps(hits).encode()
            elif path == "/.well-known/openid-configuration":
                body = discovery
            elif path == "/jwks":
                body = jwks
            else:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, fmt, *a):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print(
        json.dumps(
            {"ready": True, "issuer": issuer, "minted": minted, "mint_seconds": time.time() - started}
        ),
        flush=True,
    )
    server.serve_forever()


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""A small OpenID Connect issuer for the demo and the benchmarks (development only).

Serves discovery and a JWKS over plain HTTP on 127.0.0.1 and mints RS256 access tokens, with the
Python standard library alone: the RSA-2048 key is made once by the openssl command line, and
tokens are signed here (RSASSA-PKCS1-v1_5 with SHA-256, RFC 8017), each signature checked with
the public key before it leaves.

  python3 demo/issuer.py --port 9000 --state-dir /tmp/x
  curl 'http://127.0.0.1:9000/mint?aud=api://orders&scope=orders.read&sub=alice'

  # benchmarks: mint COUNT distinct tokens per file first, then serve
  python3 demo/issuer.py --port 9000 --state-dir /tmp/x --audience api://bench \\
      --out /tmp/run --tokens one=1 --tokens many=10000

When it serves, it prints one JSON line: {"ready": true, "issuer": ..., "kid": ..., "minted": N,
"mint_seconds": S}. GET /stats answers the number of requests per path (discovery and JWKS
fetches), for tests and benchmarks that count what relying parties ask.

/mint exists only because this is a development issuer: a real identity provider issues tokens
through OAuth grants.
"""
import argparse
import base64
import hashlib
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

# DER prefix of DigestInfo for SHA-256 (RFC 8017, section 9.2, note 1).
SHA256_DIGEST_INFO = bytes.fromhex("3031300d060960864801650304020105000420")


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def uint_bytes(n: int) -> bytes:
    return n.to_bytes((n.bit_length() + 7) // 8, "big")


class RsaKey:
    """An RSA private key read from a PEM file that openssl made; signs with the CRT."""

    FIELDS = ("modulus", "publicExponent", "privateExponent", "prime1", "prime2",
              "exponent1", "exponent2", "coefficient")

    def __init__(self, numbers: dict):
        self.n, self.e = numbers["modulus"], numbers["publicExponent"]
        self.p, self.q = numbers["prime1"], numbers["prime2"]
        self.dp, self.dq, self.qinv = numbers["exponent1"], numbers["exponent2"], numbers["coefficient"]
        if self.p * self.q != self.n:
            raise ValueError("the key's primes do not multiply to its modulus")
        self.size = (self.n.bit_length() + 7) // 8
        self.kid = b64url(hashlib.sha256(uint_bytes(self.n)).digest())[:16]

    @classmethod
    def load_or_create(cls, state_dir: str) -> "RsaKey":
        path = os.path.join(state_dir, "issuer-key.pem")
        if not os.path.exists(path):
            subprocess.run(["openssl", "genrsa", "-out", path, "2048"], check=True, capture_output=True)
            os.chmod(path, 0o600)
        text = subprocess.run(["openssl", "rsa", "-in", path, "-noout", "-text"],
                              check=True, capture_output=True, text=True).stdout
        return cls(cls.parse_text(text))

    @classmethod
    def parse_text(cls, text: str) -> dict:
        """The numbers of `openssl rsa -noout -text`: hex blocks after 'name:' lines."""
        numbers, name, digits = {}, None, []
        for line in text.splitlines():
            head = re.match(r"^(\w+):\s*(.*)$", line)
            if head and head.group(1) in cls.FIELDS:
                if name:
                    numbers[name] = int("".join(digits), 16)
                name, rest, digits = head.group(1), head.group(2), []
                inline = re.match(r"^(\d+) \(0x[0-9a-f]+\)$", rest)
                if inline:  # publicExponent: 65537 (0x10001)
                    numbers[name], name = int(inline.group(1)), None
            elif name and re.match(r"^\s+[0-9a-f:]+$", line):
                digits.append(line.strip().replace(":", ""))
            elif name:
                numbers[name], name, digits = int("".join(digits), 16), None, []
        if name:
            numbers[name] = int("".join(digits), 16)
        missing = [f for f in cls.FIELDS if f not in numbers and f != "privateExponent"]
        if missing:
            raise ValueError("openssl's key text lacks " + ", ".join(missing))
        return numbers

    def numbers(self) -> dict:
        """What a signer needs (everything but the private exponent, which the CRT does without)."""
        return {"modulus": self.n, "publicExponent": self.e, "prime1": self.p, "prime2": self.q,
                "exponent1": self.dp, "exponent2": self.dq, "coefficient": self.qinv}

    def jwk(self) -> dict:
        return {"kty": "RSA", "use": "sig", "alg": "RS256", "kid": self.kid,
                "n": b64url(uint_bytes(self.n)), "e": b64url(uint_bytes(self.e))}

    def sign(self, message: bytes) -> bytes:
        digest = SHA256_DIGEST_INFO + hashlib.sha256(message).digest()
        encoded = b"\x00\x01" + b"\xff" * (self.size - len(digest) - 3) + b"\x00" + digest
        m = int.from_bytes(encoded, "big")
        m1, m2 = pow(m, self.dp, self.p), pow(m, self.dq, self.q)
        s = m2 + (self.qinv * (m1 - m2) % self.p) * self.q
        if pow(s, self.e, self.n) != m:  # never hand out a faulty signature
            raise ArithmeticError("RSA signature did not verify")
        return s.to_bytes(self.size, "big")

    def token(self, claims: dict) -> str:
        header = {"alg": "RS256", "typ": "JWT", "kid": self.kid}
        signing_input = (b64url(json.dumps(header, separators=(",", ":")).encode()) + "."
                         + b64url(json.dumps(claims, separators=(",", ":")).encode()))
        return signing_input + "." + b64url(self.sign(signing_input.encode("ascii")))


def bench_claims(issuer: str, audience: str, i: int, now: int) -> dict:
    return {
        "iss": issuer, "aud": audience,
        "sub": f"user-{i:06d}", "email": f"user-{i:06d}@bench.example", "email_verified": True,
        "scope": "openid bench.read", "azp": "bench-client",
        "iat": now, "nbf": now - 5, "exp": now + 3600, "jti": f"bench-{now}-{i}",
    }


_worker_key = None


def _init_worker(numbers: dict) -> None:
    global _worker_key
    _worker_key = RsaKey(numbers)


def _mint_range(job) -> str:
    issuer, audience, start, count, now = job
    return "\n".join(_worker_key.token(bench_claims(issuer, audience, i, now))
                     for i in range(start, start + count))


def mint_file(path: str, key: RsaKey, issuer: str, audience: str, count: int, start: int) -> None:
    """COUNT distinct tokens, one a line, signed on every core."""
    now = int(time.time())
    workers = max(1, os.cpu_count() or 1)
    chunk = max(1, (count + workers * 4 - 1) // (workers * 4))
    jobs = [(issuer, audience, s, min(chunk, start + count - s), now)
            for s in range(start, start + count, chunk)]
    with ProcessPoolExecutor(workers, initializer=_init_worker, initargs=(key.numbers(),)) as pool:
        with open(path, "w") as f:
            for block in pool.map(_mint_range, jobs):
                f.write(block + "\n")


def make_handler(issuer: str, key: RsaKey, hits: dict, lock: threading.Lock):
    discovery = json.dumps({
        "issuer": issuer,
        "jwks_uri": issuer + "/jwks",
        "authorization_endpoint": issuer + "/authorize",
        "token_endpoint": issuer + "/token",
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
    }).encode()
    jwks = json.dumps({"keys": [key.jwk()]}).encode()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, fmt, *args):  # keep the demo's and the bench's output readable
            pass

        def send(self, status: int, body: bytes, content_type: str = "application/json"):
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self):
            url = urlparse(self.path)
            if url.path != "/stats":
                with lock:
                    hits[url.path] = hits.get(url.path, 0) + 1
            if url.path == "/.well-known/openid-configuration":
                self.send(200, discovery)
            elif url.path == "/jwks":
                self.send(200, jwks)
            elif url.path == "/stats":
                with lock:
                    self.send(200, json.dumps(hits).encode())
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
                self.send(200, key.token(claims).encode(), "text/plain")
            else:
                self.send(404, b'{"error":"not_found"}')

    return Handler


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--state-dir", required=True, help="where the key lives (made on first start)")
    p.add_argument("--audience", default="api://orders", help="aud of the tokens --tokens mints")
    p.add_argument("--out", help="directory for the token files of --tokens")
    p.add_argument("--tokens", action="append", default=[], metavar="NAME=COUNT",
                   help="before serving, write COUNT distinct tokens to OUT/NAME.txt (repeatable)")
    a = p.parse_args()
    if a.tokens and not a.out:
        p.error("--tokens needs --out")
    os.makedirs(a.state_dir, exist_ok=True)
    issuer = "http://127.0.0.1:%d" % a.port
    key = RsaKey.load_or_create(a.state_dir)

    started, minted = time.time(), 0
    for spec in a.tokens:
        name, _, count = spec.partition("=")
        if not name or not count.isdigit():
            p.error(f"--tokens {spec}: expected NAME=COUNT")
        mint_file(os.path.join(a.out, name + ".txt"), key, issuer, a.audience, int(count), minted)
        minted += int(count)

    hits, lock = {}, threading.Lock()
    server = ThreadingHTTPServer(("127.0.0.1", a.port), make_handler(issuer, key, hits, lock))
    server.daemon_threads = True
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print(json.dumps({"ready": True, "issuer": issuer, "kid": key.kid, "minted": minted,
                      "mint_seconds": round(time.time() - started, 3)}), flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Verify Licentric's published test vectors with Python's own libraries.

Reads crates/licentric-core/tests/vectors/ and checks them against docs/formats.md
using only `cryptography` (Ed25519), `PyJWT` (EdDSA JWTs) and the standard library,
sharing no code with the Rust implementation. A failure here means the documentation
and the implementation disagree, or one of them is not what other languages expect.

    python3 -m venv .venv && .venv/bin/pip install -r tests/cross-language/requirements.txt
    .venv/bin/python tests/cross-language/verify_vectors.py

Exits non-zero if any check fails; the last line is "N passed, M failed".
"""

import base64
import hashlib
import hmac
import json
import sys
from datetime import datetime, timezone
from pathlib import Path

import jwt
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

VECTORS = Path(__file__).resolve().parents[2] / "crates/licentric-core/tests/vectors"

BEGIN = "-----BEGIN LICENTRIC LICENSE FILE-----"
END = "-----END LICENTRIC LICENSE FILE-----"
FORMAT = "licentric-lic/1"
PAYLOAD_FIELDS = [
    "licenseId", "productId", "accountId", "status", "licenseExpiresAt", "entitlements",
    "maxMachines", "offlineMaxDays", "graceDays", "fingerprint", "machineId", "issuedAt",
    "expiresAt", "keyId",
]
CLAIMS = ["iss", "sub", "aud", "iat", "nbf", "exp", "fp", "mid", "status", "ent", "lex",
          "gdays", "omax"]

passed = 0
failed = 0


def check(name, condition, detail=""):
    global passed, failed
    if condition:
        passed += 1
        print(f"ok    {name}")
    else:
        failed += 1
        print(f"FAIL  {name} {detail}")


def b64url_decode(text):
    """Unpadded base64url, refusing padding and characters outside the alphabet."""
    if "=" in text or any(c not in
                          "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
                          for c in text):
        raise ValueError("not unpadded base64url")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def b64url_encode(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def flip(text, index):
    """The text with the character at index replaced by another base64 character."""
    replacement = "A" if text[index] != "A" else "B"
    return text[:index] + replacement + text[index + 1:]


def parse_time(text):
    if len(text) != 20 or not text.endswith("Z"):
        raise ValueError(f"not YYYY-MM-DDTHH:MM:SSZ: {text}")
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)


def read_lic(text, public_key):
    """Parse and verify a .lic file exactly as docs/formats.md describes.

    Returns the payload dict, or raises ValueError / InvalidSignature.
    """
    if not text.endswith("\n") or "\r" in text:
        raise ValueError("line endings")
    lines = text[:-1].split("\n")
    if lines[0] != BEGIN or lines[-1] != END:
        raise ValueError("armour")
    if lines[1] != f"Format: {FORMAT}":
        raise ValueError("format line")
    if not lines[2].startswith("Key-Id: ") or not lines[3].startswith("Signature: "):
        raise ValueError("headers")
    if lines[4] != "":
        raise ValueError("blank line")
    kid = lines[2][len("Key-Id: "):]
    signature = b64url_decode(lines[3][len("Signature: "):])
    body_lines = lines[5:-1]
    if any(len(line) != 64 for line in body_lines[:-1]) or not 1 <= len(body_lines[-1]) <= 64:
        raise ValueError("body wrapping")
    payload = base64.b64decode("".join(body_lines), validate=True)
    # Canonical: the file must be exactly the rendering of its parts.
    body = base64.b64encode(payload).decode("ascii")
    rendered = "\n".join(
        [BEGIN, f"Format: {FORMAT}", f"Key-Id: {kid}", f"Signature: {b64url_encode(signature)}", ""]
        + [body[i:i + 64] for i in range(0, len(body), 64)]
        + [END]
    ) + "\n"
    if rendered != text:
        raise ValueError("not canonical")
    message = f"{FORMAT}\n{kid}\n".encode("ascii") + payload
    public_key.verify(signature, message)  # raises InvalidSignature
    claims = json.loads(payload)
    if json.dumps(claims, separators=(",", ":"), ensure_ascii=False).encode() != payload:
        raise ValueError("payload JSON not compact canonical")
    if list(claims) != PAYLOAD_FIELDS or claims["keyId"] != kid:
        raise ValueError("payload fields")
    return kid, message, signature, claims


def main():
    context = json.loads((VECTORS / "context.json").read_text())
    seed = bytes.fromhex((VECTORS / "seed.hex").read_text().strip())
    now = parse_time(context["verifyAt"])

    # --- keys and JWKS -------------------------------------------------------------
    private_key = Ed25519PrivateKey.from_private_bytes(seed)
    public_raw = private_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    check("seed gives RFC 8032 TEST 1 public key",
          public_raw.hex() == "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a")
    check("public key base64url matches context",
          b64url_encode(public_raw) == context["publicKey"])
    kid = "k1-" + hashlib.sha256(public_raw).hexdigest()[:8]
    check("key id is k1- + 8 hex of sha256(public key)", kid == context["keyId"], kid)

    jwks_text = (VECTORS / "jwks.json").read_text()
    jwks = json.loads(jwks_text)
    check("JWKS has one OKP/Ed25519 EdDSA sig key",
          jwks == {"keys": [{"kty": "OKP", "crv": "Ed25519", "x": context["publicKey"],
                             "kid": kid, "alg": "EdDSA", "use": "sig"}]})
    jwk_set = jwt.PyJWKSet.from_json(jwks_text)
    public_key = jwk_set[kid].key
    check("PyJWT reads the JWKS into an Ed25519 key",
          isinstance(public_key, Ed25519PublicKey)
          and public_key.public_bytes(Encoding.Raw, PublicFormat.Raw) == public_raw)

    # --- fingerprint ---------------------------------------------------------------
    fingerprint = hmac.new(context["productSalt"].encode(), context["machineId"].strip().encode(),
                           hashlib.sha256).hexdigest()
    check("fingerprint is HMAC-SHA256(salt, machine id) hex", fingerprint == context["fingerprint"])

    # --- .lic ----------------------------------------------------------------------
    lic = (VECTORS / "license.lic").read_text()
    try:
        lic_kid, message, signature, payload = read_lic(lic, public_key)
        check(".lic parses canonically and its signature verifies", True)
    except (ValueError, InvalidSignature) as error:
        check(".lic parses canonically and its signature verifies", False, repr(error))
        return
    check(".lic signature is what Python signs (Ed25519 is deterministic)",
          private_key.sign(message) == signature)
    check(".lic key id is the JWKS key", lic_kid == kid)
    check(".lic is for the product and machine", payload["productId"] == context["productId"]
          and payload["fingerprint"] == fingerprint)
    check(".lic is valid at verifyAt",
          parse_time(payload["issuedAt"]) <= now < parse_time(payload["expiresAt"])
          and payload["status"] == "active"
          and (payload["licenseExpiresAt"] is None or now < parse_time(payload["licenseExpiresAt"])))

    signature_at = lic.index("Signature: ") + len("Signature: ") + 10
    body_at = lic.index("\n\n") + 2 + 100
    edits = {
        "one payload byte": flip(lic, body_at),
        "one signature byte": flip(lic, signature_at),
        "the key id": lic.replace(f"Key-Id: {kid}", "Key-Id: k1-00000000", 1),
        "CRLF line endings": lic.replace("\n", "\r\n"),
        "extra trailing newline": lic + "\n",
    }
    for what, edited in edits.items():
        try:
            read_lic(edited, public_key)
            check(f".lic with {what} changed is refused", False, "accepted")
        except (ValueError, InvalidSignature, UnicodeDecodeError):
            check(f".lic with {what} changed is refused", True)

    # --- JWT -----------------------------------------------------------------------
    token = (VECTORS / "token.jwt").read_text().strip()
    header = jwt.get_unverified_header(token)
    check("JWT header is typ JWT, alg EdDSA, kid",
          header == {"typ": "JWT", "alg": "EdDSA", "kid": kid}, str(header))
    try:
        # The vector's times are fixed; they are checked against verifyAt below,
        # not against this machine's clock.
        claims = jwt.decode(token, key=jwk_set[header["kid"]].key, algorithms=["EdDSA"],
                            audience=context["productId"], issuer="licentric",
                            options={"verify_exp": False, "verify_nbf": False,
                                     "verify_iat": False})
        check("PyJWT verifies the JWT with the JWKS key", True)
    except jwt.PyJWTError as error:
        check("PyJWT verifies the JWT with the JWKS key", False, repr(error))
        return
    check("JWT claims are the documented ones in order", list(claims) == CLAIMS, str(list(claims)))
    ts = now.timestamp()
    check("JWT is for the machine and valid at verifyAt",
          claims["fp"] == fingerprint and claims["nbf"] <= ts < claims["exp"]
          and claims["status"] == "active")
    signing_input, _, token_signature = token.rpartition(".")
    check("JWT signature is what Python signs",
          private_key.sign(signing_input.encode()) == b64url_decode(token_signature))
    for index in (10, len(token) // 2, len(token) - 3):
        edited = flip(token, index)
        try:
            jwt.decode(edited, key=public_key, algorithms=["EdDSA"], audience=context["productId"],
                       options={"verify_exp": False, "verify_nbf": False, "verify_iat": False})
            check(f"JWT with byte {index} changed is refused", False, "accepted")
        except jwt.PyJWTError:
            check(f"JWT with byte {index} changed is refused", True)

    # --- activation request --------------------------------------------------------
    request = (VECTORS / "activation_request.txt").read_text().strip()
    prefix = "LICENTRIC-REQ1."
    check("activation request has the prefix", request.startswith(prefix))
    fields = json.loads(b64url_decode(request[len(prefix):]))
    check("activation request carries the documented fields",
          list(fields) == ["fingerprint", "licenseKey", "machineName", "platform", "createdAt"]
          and fields["fingerprint"] == fingerprint and fields["platform"] == "linux"
          and parse_time(fields["createdAt"]) is not None, str(fields))


if __name__ == "__main__":
    try:
        main()
    except Exception as error:  # a crash is a failure, not a pass
        check("script ran to completion", False, repr(error))
    print(f"{passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)

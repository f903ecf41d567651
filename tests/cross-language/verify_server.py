#!/usr/bin/env python3
"""Verify what a running Licentric server signs with Python's own libraries.

Fetches the account's JWKS, validates a license key for a fingerprint and verifies the
token it answers with using PyJWT, then downloads an offline license file (seed 003's
endpoint) and checks its Ed25519 signature and payload as docs/formats.md describes,
using `cryptography`. Shares no code with the Rust implementation.

    verify_server.py SERVER_URL ACCOUNT_ID LICENSE_KEY FINGERPRINT API_KEY

The fingerprint must be activated on the license, and be its only machine (the offline
file is then bound to it by default). Exits non-zero if any check fails; the last line is
"N passed, M failed".
"""

import json
import sys
import urllib.error
import urllib.request
from datetime import datetime, timedelta, timezone
from pathlib import Path

import jwt
from cryptography.exceptions import InvalidSignature

sys.path.insert(0, str(Path(__file__).resolve().parent))
from verify_vectors import CLAIMS, b64url_decode, flip, parse_time, read_lic  # noqa: E402

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


def call(method, url, body=None, headers=None):
    """One HTTP request; returns (status, headers, body bytes), also for 4xx/5xx."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method, headers=dict(headers or {}))
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


def main(base, account_id, license_key, fingerprint, api_key):
    api = base.rstrip("/") + "/api/v1"
    bearer = {"Authorization": f"Bearer {api_key}"}

    # --- JWKS ----------------------------------------------------------------------
    status, _, body = call("GET", f"{api}/accounts/{account_id}/jwks.json")
    check("JWKS is served without credentials", status == 200, str(status))
    jwks_text = body.decode()
    jwks = json.loads(jwks_text)
    keys = jwks.get("keys", [])
    check("JWKS holds Ed25519 EdDSA signing keys and nothing private",
          keys and all(k.get("kty") == "OKP" and k.get("crv") == "Ed25519"
                       and k.get("alg") == "EdDSA" and k.get("use") == "sig"
                       and len(b64url_decode(k["x"])) == 32 and "d" not in k for k in keys),
          jwks_text)
    jwk_set = jwt.PyJWKSet.from_json(jwks_text)
    public_keys = {k["kid"]: jwk_set[k["kid"]].key for k in keys}

    # --- validation token ----------------------------------------------------------
    status, _, body = call("POST", f"{api}/licenses/validate-key",
                           {"key": license_key, "fingerprint": fingerprint})
    result = json.loads(body)
    check("validate-key answers VALID for the activated fingerprint",
          status == 200 and result.get("code") == "VALID", body.decode())
    license_id = result["license"]["id"]
    product_id = result["license"]["productId"]
    server_time = parse_time(result["serverTime"].split(".")[0].rstrip("Z") + "Z")
    check("serverTime is an RFC 3339 UTC time close to this machine's clock",
          abs(server_time - datetime.now(timezone.utc)) < timedelta(minutes=5),
          result["serverTime"])
    token = result.get("token")
    check("a VALID answer for a fingerprint carries a token", isinstance(token, str))
    header = jwt.get_unverified_header(token)
    check("token header is typ JWT, alg EdDSA, and a kid the JWKS publishes",
          header.get("typ") == "JWT" and header.get("alg") == "EdDSA"
          and header.get("kid") in public_keys, str(header))
    try:
        # The server runs on the real clock, so PyJWT's own exp/nbf/iat checks apply.
        claims = jwt.decode(token, key=public_keys[header["kid"]], algorithms=["EdDSA"],
                            audience=product_id, issuer="licentric")
        check("PyJWT verifies the token with the JWKS key (audience, issuer, times)", True)
    except jwt.PyJWTError as error:
        check("PyJWT verifies the token with the JWKS key (audience, issuer, times)", False,
              repr(error))
        return
    check("token claims are the documented ones in order", list(claims) == CLAIMS,
          str(list(claims)))
    check("token names the license, the product and this machine",
          claims["sub"] == license_id and claims["aud"] == product_id
          and claims["fp"] == fingerprint and claims["status"] == "active"
          and isinstance(claims["mid"], str), str(claims))
    check("token lasts offlineMaxDays, never past the license's expiry",
          claims["nbf"] == claims["iat"]
          and claims["exp"] - claims["iat"] <= claims["omax"] * 86400
          and (claims["lex"] is None or claims["exp"] <= claims["lex"]), str(claims))
    for index in (10, len(token) // 2, len(token) - 3):
        try:
            jwt.decode(flip(token, index), key=public_keys[header["kid"]], algorithms=["EdDSA"],
                       audience=product_id, issuer="licentric")
            check(f"token with byte {index} changed is refused", False, "accepted")
        except jwt.PyJWTError:
            check(f"token with byte {index} changed is refused", True)

    # --- offline license file (seed 003) --------------------------------------------
    status, headers, body = call("POST", f"{api}/licenses/{license_id}/offline-file",
                                 headers=bearer)
    check("offline-file answers the .lic as an attachment",
          status == 200
          and headers.get("Content-Type") == "application/x-licentric-license"
          and headers.get("Content-Disposition") == 'attachment; filename="license.lic"',
          f"{status} {dict(headers)}")
    lic = body.decode("ascii")
    kid = next(line[len("Key-Id: "):] for line in lic.split("\n") if line.startswith("Key-Id: "))
    check(".lic key id is in the JWKS", kid in public_keys, kid)
    try:
        _, _, _, payload = read_lic(lic, public_keys[kid])
        check(".lic parses canonically and its Ed25519 signature verifies", True)
    except (ValueError, InvalidSignature, KeyError) as error:
        check(".lic parses canonically and its Ed25519 signature verifies", False, repr(error))
        return
    check(".lic is bound to the license's only machine, for this product",
          payload["licenseId"] == license_id and payload["productId"] == product_id
          and payload["accountId"] == account_id and payload["fingerprint"] == fingerprint
          and payload["machineId"] == claims["mid"] and payload["status"] == "active",
          str(payload))
    issued, expires = parse_time(payload["issuedAt"]), parse_time(payload["expiresAt"])
    check(".lic lasts at most offlineMaxDays, never past the license's expiry",
          issued < expires <= issued + timedelta(days=payload["offlineMaxDays"])
          and (payload["licenseExpiresAt"] is None
               or expires <= parse_time(payload["licenseExpiresAt"])), str(payload))
    check(".lic is valid now", issued - timedelta(minutes=5) <= datetime.now(timezone.utc) < expires)
    for what, edited in {
        "one payload byte": flip(lic, lic.index("\n\n") + 2 + 40),
        "one signature byte": flip(lic, lic.index("Signature: ") + len("Signature: ") + 5),
    }.items():
        try:
            read_lic(edited, public_keys[kid])
            check(f".lic with {what} changed is refused", False, "accepted")
        except (ValueError, InvalidSignature, UnicodeDecodeError):
            check(f".lic with {what} changed is refused", True)

    # --- checkout (seed 000) for another machine --------------------------------------
    other = "cross-language-other-machine"
    status, _, body = call("POST", f"{api}/licenses/{license_id}/checkout",
                           {"fingerprint": other, "ttl": 3600}, headers=bearer)
    checkout = json.loads(body)
    check("checkout answers certificate, license, fingerprint and ttl",
          status == 200 and set(checkout) == {"certificate", "license", "fingerprint", "ttl"}
          and checkout["ttl"] == 3600, body.decode()[:300])
    _, _, _, other_payload = read_lic(checkout["certificate"], public_keys[kid])
    check("the checked-out file is bound to the other fingerprint, not this machine",
          other_payload["fingerprint"] == other and other_payload["fingerprint"] != fingerprint
          and parse_time(other_payload["expiresAt"]) - parse_time(other_payload["issuedAt"])
          == timedelta(hours=1))


if __name__ == "__main__":
    if len(sys.argv) != 6:
        print(__doc__)
        sys.exit(2)
    try:
        main(*sys.argv[1:])
    except Exception as error:  # a crash is a failure, not a pass
        check("script ran to completion", False, repr(error))
    print(f"{passed} passed, {failed} failed")
    sys.exit(1 if failed or not passed else 0)

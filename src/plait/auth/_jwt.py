"""Signed JWT access tokens (PyJWT): keys with a pinned algorithm each, picked by ``kid``."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from typing import Any

import jwt

__all__ = ["ASYMMETRIC_ALGORITHMS", "HMAC_ALGORITHMS", "JWTCodec", "JWTKey", "TokenError"]

# Why PyJWT refused a token, most specific first (the rest: "The token is invalid").
_REFUSALS: tuple[tuple[type[jwt.InvalidTokenError], str], ...] = (
    (jwt.ExpiredSignatureError, "The token has expired"),
    (jwt.ImmatureSignatureError, "The token is not valid yet"),
    (jwt.InvalidAudienceError, "The token is for another audience"),
    (jwt.InvalidIssuerError, "The token is from another issuer"),
    (jwt.InvalidSignatureError, "The token's signature is invalid"),
)
_HMAC_KEY_BYTES = {"HS256": 32, "HS384": 48, "HS512": 64}  # RFC 7518 3.2: the hash's size
HMAC_ALGORITHMS = frozenset(_HMAC_KEY_BYTES)
ASYMMETRIC_ALGORITHMS = frozenset(
    {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}
)


class TokenError(Exception):
    """A credential that does not authenticate; the message says why (it goes to the client
    in the 401's ``WWW-Authenticate`` and problem ``detail``)."""


class JWTKey:
    """One signing key: its id (the token header's ``kid``), its algorithm, and its key::

        JWTKey("2026-12", secret)                                  # HS256, a shared secret
        JWTKey("rsa-1", private_pem, algorithm="RS256", public_key=public_pem)
        JWTKey("rsa-0", None, algorithm="RS256", public_key=old_public_pem)  # verify only

    Each key verifies only tokens of its own algorithm (algorithm pinning): ``none`` is
    refused outright, and an RS256 key never checks an HS256 token "signed" with its public
    key (the HS/RS confusion attack). An HMAC secret must be at least 32 bytes.
    """

    __slots__ = ("algorithm", "kid", "signing_key", "verifying_key")

    def __init__(
        self,
        kid: str,
        key: str | bytes | None,
        *,
        algorithm: str = "HS256",
        public_key: str | bytes | None = None,
    ) -> None:
        if algorithm in HMAC_ALGORITHMS:
            if key is None or public_key is not None:
                raise ValueError(
                    f"{algorithm} is HMAC: give the shared secret as key, no public_key"
                )
            raw = key.encode() if isinstance(key, str) else key
            if len(raw) < _HMAC_KEY_BYTES[algorithm]:
                raise ValueError(
                    f"an {algorithm} secret needs at least {_HMAC_KEY_BYTES[algorithm]} bytes"
                )
        elif algorithm in ASYMMETRIC_ALGORITHMS:
            if public_key is None:
                raise ValueError(f"{algorithm} needs public_key= (and key= to sign)")
        else:
            raise ValueError(
                f"unsupported JWT algorithm {algorithm!r}: use one of "
                f"{', '.join(sorted(HMAC_ALGORITHMS | ASYMMETRIC_ALGORITHMS))}"
            )
        if not kid:
            raise ValueError("a JWT key needs a non-empty kid")
        self.kid = kid
        self.algorithm = algorithm
        self.signing_key = key
        self.verifying_key = key if algorithm in HMAC_ALGORITHMS else public_key

    @classmethod
    def derived(cls, secret: str) -> JWTKey:
        """An HS256 key derived from the app's ``SECRET_KEY`` (its ``kid`` a digest of it, so
        tokens made with a former secret are refused as made with an unknown key)."""
        key = hashlib.sha256(b"plait.auth.jwt:" + secret.encode()).digest()
        return cls(hashlib.sha256(key).hexdigest()[:16], key)

    def __repr__(self) -> str:
        return f"JWTKey({self.kid!r}, algorithm={self.algorithm!r})"


class JWTCodec:
    """Sign with the first key, verify with the key the token's ``kid`` names.

    ``audience`` and ``issuer``, when set, go into every token and must be in every token
    checked; a token with an ``aud`` is refused when no audience is configured. ``exp``,
    ``iat`` and ``sub`` are required; ``exp`` and ``nbf`` are checked with ``leeway`` seconds.
    """

    def __init__(
        self,
        keys: Sequence[JWTKey],
        *,
        audience: str | None = None,
        issuer: str | None = None,
        leeway: float = 0,
    ) -> None:
        if not keys:
            raise ValueError("JWT tokens need at least one key")
        if keys[0].signing_key is None:
            raise ValueError("the first JWT key signs: it needs its private key")
        kids = [key.kid for key in keys]
        if len(set(kids)) != len(kids):
            raise ValueError(f"JWT key ids must differ: {kids}")
        self.keys = {key.kid: key for key in keys}
        self.signer = keys[0]
        self.audience = audience
        self.issuer = issuer
        self.leeway = leeway
        self._required = ["exp", "iat", "sub"] + ["aud"] * bool(audience) + ["iss"] * bool(issuer)

    def encode(self, claims: Mapping[str, Any]) -> str:
        payload = dict(claims)
        if self.audience is not None:
            payload["aud"] = self.audience
        if self.issuer is not None:
            payload["iss"] = self.issuer
        signer = self.signer
        assert signer.signing_key is not None
        return jwt.encode(
            payload, signer.signing_key, algorithm=signer.algorithm, headers={"kid": signer.kid}
        )

    def decode(self, token: str) -> dict[str, Any]:
        """The verified claims of ``token``; :class:`TokenError` saying why it is refused."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.InvalidTokenError:
            raise TokenError("The token is malformed") from None
        kid = header.get("kid")
        key = self.keys.get(kid) if isinstance(kid, str) else None
        if key is None:
            raise TokenError("The token was signed with an unknown key")
        if header.get("alg") != key.algorithm:
            raise TokenError("The token's algorithm is not allowed")
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key.verifying_key,  # type: ignore[arg-type]  # str | bytes, never None here
                algorithms=[key.algorithm],
                audience=self.audience,
                issuer=self.issuer,
                leeway=self.leeway,
                options={"require": self._required},
            )
        except jwt.InvalidTokenError as error:
            why = next((text for kind, text in _REFUSALS if isinstance(error, kind)), None)
            raise TokenError(why or "The token is invalid") from None
        return claims

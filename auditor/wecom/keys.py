"""The corp's RSA private keys by ``publickey_ver``: they unwrap each record's random key.

WeCom encrypts every archived record with a fresh random key, and that key with the corp's
public key of version ``publickey_ver`` (RSA, PKCS#1 v1.5), sent base64 as
``encrypt_random_key``. Keys are rotated in the admin console, so records of several versions
arrive side by side: the ring holds every version configured, and a version it does not hold is
reported as that version, never guessed at with another key.
"""

from __future__ import annotations

import base64
import binascii
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from auditor.errors import AuditorError


class RandomKeyError(ValueError):
    """A record's random key cannot be unwrapped; the message says why (kept with the quarantined record)."""


class UnknownKeyVersion(RandomKeyError):
    def __init__(self, version: int) -> None:
        super().__init__(
            f"no private key for publickey_ver {version}: add it to wecom.private_keys, "
            "then run `auditor pull --redecrypt`"
        )
        self.version = version


class KeyRing:
    def __init__(self, keys: dict[int, rsa.RSAPrivateKey]) -> None:
        self.keys = keys

    @classmethod
    def load(cls, private_keys: dict[str, str], root: Path) -> KeyRing:
        """Read every configured PEM file; a missing or unreadable key is a configuration error (exit 2)."""
        keys: dict[int, rsa.RSAPrivateKey] = {}
        for version, name in private_keys.items():
            path = Path(name) if Path(name).is_absolute() else root / name
            try:
                key = serialization.load_pem_private_key(path.read_bytes(), password=None)
            except OSError as exc:
                raise AuditorError(
                    f"wecom.private_keys.{version}: cannot read {path}: {exc.strerror}; put the private key "
                    "of that publickey_ver there (PEM)"
                ) from None
            except (ValueError, TypeError) as exc:
                raise AuditorError(
                    f"wecom.private_keys.{version}: {path} is not an unencrypted PEM private key ({exc})"
                ) from None
            if not isinstance(key, rsa.RSAPrivateKey):
                raise AuditorError(f"wecom.private_keys.{version}: {path} is not an RSA key")
            keys[int(version)] = key
        return cls(keys)

    @property
    def versions(self) -> list[int]:
        return sorted(self.keys)

    def random_key(self, version: object, encrypt_random_key: object) -> bytes:
        """The record's random key, ready for ``DecryptData``."""
        if not isinstance(version, int) or isinstance(version, bool):
            raise RandomKeyError(f"publickey_ver must be an integer, got {version!r}")
        if version not in self.keys:
            raise UnknownKeyVersion(version)
        if not isinstance(encrypt_random_key, str):
            raise RandomKeyError("encrypt_random_key is missing or not a string")
        try:
            wrapped = base64.b64decode(encrypt_random_key, validate=True)
        except (binascii.Error, ValueError):
            raise RandomKeyError("encrypt_random_key is not valid base64") from None
        try:
            return self.keys[version].decrypt(wrapped, padding.PKCS1v15())
        except ValueError:
            raise RandomKeyError(
                f"encrypt_random_key does not decrypt with the key of publickey_ver {version}: "
                "is wecom.private_keys pointing at the right file?"
            ) from None

"""A scripted stand-in for WeCom's archive service and its Finance SDK, for tests without WeCom.

``FakeArchive`` holds the records WeCom would serve, in seq order. Each record gets a fresh random
key, wrapped exactly as the service does: RSA PKCS#1 v1.5 under the corp's public key of the
record's ``publickey_ver``, base64 as ``encrypt_random_key`` (real RSA keypairs, one per version).
The payload cipher is this fake's own — AES-GCM keyed by SHA-256 of the random key — and NOT
WeCom's: the real ``DecryptData`` is opaque, which is why the puller only ever hands the random key
and the ciphertext to the SDK. ``FakeSdk`` has the Python interface of ``auditor.wecom.sdk``'s
binding, and plays faults from a script: return codes, JSON errcodes, overlapping pages.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from auditor.errors import AuditorError
from auditor.wecom.sdk import ERR_DECRYPT, ERR_FILEID, MediaChunk, SdkError

CHUNK = 512 * 1024  # GetMediaData's chunk size


def new_keypair() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def write_pem(key: rsa.RSAPrivateKey, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return path


def seal(random_key: bytes, plaintext: bytes) -> str:
    """The fake's payload cipher (not WeCom's)."""
    nonce = os.urandom(12)
    return base64.b64encode(
        nonce + AESGCM(hashlib.sha256(random_key).digest()).encrypt(nonce, plaintext, None)
    ).decode()


@dataclass
class Fault:
    """What one GetChatData call does instead of answering: ``ret`` (a return code), ``errcode`` (in
    the JSON, with return 0), or ``overlap`` (the page starts that many records before the seq)."""

    ret: int = 0
    errcode: int = 0
    overlap: int = 0


@dataclass
class FakeArchive:
    keys: dict[int, rsa.RSAPrivateKey]
    corp_id: str = "wwfake"
    secret: str = "archive-secret"
    items: list[dict[str, Any]] = field(default_factory=list)
    media: dict[str, bytes] = field(default_factory=dict)
    faults: list[Fault] = field(default_factory=list)  # played one per GetChatData call, in order
    calls: int = 0
    open_instances: int = 0

    def add(self, record: dict[str, Any], version: int, *, plaintext: bytes | None = None) -> int:
        """Archive one record under key ``version``; returns its seq. ``plaintext`` overrides the JSON."""
        seq = len(self.items) + 1
        random_key = secrets.token_hex(16).encode()  # WeCom's random keys are 32 printable characters
        wrapped = self.keys[version].public_key().encrypt(random_key, padding.PKCS1v15())
        body = plaintext if plaintext is not None else json.dumps(record, ensure_ascii=False).encode()
        self.items.append(
            {
                "seq": seq,
                "msgid": record.get("msgid", ""),
                "publickey_ver": version,
                "encrypt_random_key": base64.b64encode(wrapped).decode(),
                "encrypt_chat_msg": seal(random_key, body),
            }
        )
        return seq

    def open_sdk(self, settings) -> FakeSdk:
        if settings.corp_id != self.corp_id or settings.secret != self.secret:
            raise AuditorError("the Finance SDK's Init returned 10000 (parameter error): check wecom.corp_id")
        self.open_instances += 1
        return FakeSdk(self)


class FakeSdk:
    def __init__(self, archive: FakeArchive) -> None:
        self.archive = archive

    def get_chat_data(self, seq: int, limit: int) -> bytes:
        archive = self.archive
        archive.calls += 1
        fault = archive.faults.pop(0) if archive.faults else Fault()
        if fault.ret:
            raise SdkError(fault.ret, "GetChatData")
        if fault.errcode:
            return json.dumps({"errcode": fault.errcode, "errmsg": "scripted"}).encode()
        start = max(0, seq - fault.overlap)
        page = [i for i in archive.items if i["seq"] > start][:limit]
        return json.dumps({"errcode": 0, "errmsg": "ok", "chatdata": page}).encode()

    def decrypt_data(self, random_key: bytes, encrypt_msg: str) -> bytes:
        blob = base64.b64decode(encrypt_msg)
        try:
            return AESGCM(hashlib.sha256(random_key).digest()).decrypt(blob[:12], blob[12:], None)
        except InvalidTag:
            raise SdkError(ERR_DECRYPT, "DecryptData") from None

    def get_media_data(self, index: str, sdkfileid: str) -> MediaChunk:
        if sdkfileid not in self.archive.media:
            raise SdkError(ERR_FILEID, "GetMediaData")
        data = self.archive.media[sdkfileid]
        offset = int(index or 0)
        chunk = data[offset : offset + CHUNK]
        end = offset + len(chunk)
        return MediaChunk(chunk, str(end), end >= len(data))

    def close(self) -> None:
        self.archive.open_instances -= 1

"""A ctypes binding of WeCom's Finance SDK C API (``libWeWorkFinanceSdk_C.so``).

Tencent's library is installed by the operator (see the README); nothing of it is shipped here.
Every function gets its argtypes and restype (a missing restype would truncate 64-bit pointers),
buffers are read by their length because they may hold NUL bytes, and every slice or media
buffer the library allocates is freed in a ``finally``. The library is not documented as
thread-safe: an instance refuses calls from any thread but the one that created it.

``FinanceSdk`` is the Python interface the puller uses; tests inject a fake with the same methods.
"""

from __future__ import annotations

import ctypes
import threading
from dataclasses import dataclass
from typing import Protocol

from auditor.errors import AuditorError

# Error codes of the Finance SDK (会话内容存档 错误码).
ERR_PARAMETER = 10000
ERR_NETWORK = 10001
ERR_PARSE = 10002
ERR_SYSTEM = 10003
ERR_ENCRYPT_KEY = 10004
ERR_FILEID = 10005
ERR_DECRYPT = 10006
ERR_NO_PRIVATE_KEY = 10007
ERR_ENCRYPT_KEY_PARSE = 10008
ERR_IP_NOT_ALLOWED = 10009
ERR_EXPIRED = 10010
ERR_CERTIFICATE = 10011

ERROR_NAMES = {
    ERR_PARAMETER: "parameter error",
    ERR_NETWORK: "network error",
    ERR_PARSE: "data parse failure",
    ERR_SYSTEM: "system failure",
    ERR_ENCRYPT_KEY: "wrong key, encryption failed",
    ERR_FILEID: "wrong sdkfileid",
    ERR_DECRYPT: "decryption failed",
    ERR_NO_PRIVATE_KEY: "no private key for the message's encryption version",
    ERR_ENCRYPT_KEY_PARSE: "encrypt_key could not be parsed",
    ERR_IP_NOT_ALLOWED: "IP address not allowed",
    ERR_EXPIRED: "data expired",
    ERR_CERTIFICATE: "certificate error",
}


class SdkError(Exception):
    """A non-zero return code (or JSON errcode) from the SDK."""

    def __init__(self, code: int, call: str, detail: str = "") -> None:
        name = ERROR_NAMES.get(code, "unknown error")
        super().__init__(f"{call} returned {code} ({name}){': ' + detail if detail else ''}")
        self.code = code
        self.call = call


@dataclass(frozen=True)
class MediaChunk:
    data: bytes
    next_index: str  # pass back to get the next chunk
    finished: bool


class FinanceSdk(Protocol):
    """What the puller needs from the SDK; the ctypes binding and the tests' fake both provide it."""

    def get_chat_data(self, seq: int, limit: int) -> bytes: ...

    def decrypt_data(self, random_key: bytes, encrypt_msg: str) -> bytes: ...

    def get_media_data(self, index: str, sdkfileid: str) -> MediaChunk: ...

    def close(self) -> None: ...


class _Slice(ctypes.Structure):
    _fields_ = [("buf", ctypes.c_void_p), ("len", ctypes.c_int)]


class _MediaData(ctypes.Structure):
    _fields_ = [
        ("outindexbuf", ctypes.c_void_p),
        ("out_len", ctypes.c_int),
        ("data", ctypes.c_void_p),
        ("data_len", ctypes.c_int),
        ("is_finish", ctypes.c_int),
    ]


_SLICE_P = ctypes.POINTER(_Slice)
_MEDIA_P = ctypes.POINTER(_MediaData)
_SIGNATURES: dict[str, tuple[list, object]] = {
    "NewSdk": ([], ctypes.c_void_p),
    "Init": ([ctypes.c_void_p, ctypes.c_char_p, ctypes.c_char_p], ctypes.c_int),
    "DestroySdk": ([ctypes.c_void_p], None),
    "GetChatData": (
        [
            ctypes.c_void_p,
            ctypes.c_ulonglong,
            ctypes.c_uint,
            ctypes.c_char_p,
            ctypes.c_char_p,
            ctypes.c_int,
            _SLICE_P,
        ],
        ctypes.c_int,
    ),
    "DecryptData": ([ctypes.c_char_p, ctypes.c_char_p, _SLICE_P], ctypes.c_int),
    "GetMediaData": (
        [
            ctypes.c_void_p,
            ctypes.c_char_p,
            ctypes.c_char_p,
            ctypes.c_char_p,
            ctypes.c_char_p,
            ctypes.c_int,
            _MEDIA_P,
        ],
        ctypes.c_int,
    ),
    "NewSlice": ([], _SLICE_P),
    "FreeSlice": ([_SLICE_P], None),
    "GetContentFromSlice": ([_SLICE_P], ctypes.c_void_p),
    "GetSliceLen": ([_SLICE_P], ctypes.c_int),
    "NewMediaData": ([], _MEDIA_P),
    "FreeMediaData": ([_MEDIA_P], None),
    "GetOutIndexBuf": ([_MEDIA_P], ctypes.c_void_p),
    "GetData": ([_MEDIA_P], ctypes.c_void_p),
    "GetIndexLen": ([_MEDIA_P], ctypes.c_int),
    "GetDataLen": ([_MEDIA_P], ctypes.c_int),
    "IsMediaDataFinish": ([_MEDIA_P], ctypes.c_int),
}


def load_library(path: str) -> ctypes.CDLL:
    """Load the SDK and declare every function; a missing library or symbol is exit 2."""
    try:
        lib = ctypes.CDLL(path)
    except OSError as exc:
        raise AuditorError(
            f"wecom.sdk_library: cannot load {path} ({exc}); install WeCom's Finance SDK for Linux "
            "(libWeWorkFinanceSdk_C.so, from the admin console's 会话内容存档 page) "
            "and point sdk_library at it"
        ) from None
    for name, (argtypes, restype) in _SIGNATURES.items():
        try:
            func = getattr(lib, name)
        except AttributeError:
            raise AuditorError(
                f"wecom.sdk_library: {path} has no function {name}: not the Finance SDK C library"
            ) from None
        func.argtypes = argtypes
        func.restype = restype
    return lib


def _read(pointer: int | None, length: int) -> bytes:
    return ctypes.string_at(pointer, length) if pointer and length > 0 else b""


def _c(text: str) -> bytes:
    return text.encode("utf-8")


class CtypesSdk:
    """One SDK instance (``NewSdk`` + ``Init``), used from the thread that created it."""

    def __init__(
        self,
        library: str,
        corp_id: str,
        secret: str,
        *,
        proxy: str = "",
        password: str = "",
        timeout: int = 5,
    ) -> None:
        self.lib = load_library(library)
        self.proxy, self.password, self.timeout = _c(proxy), _c(password), timeout
        self.thread = threading.get_ident()
        self.handle = self.lib.NewSdk()
        if not self.handle:
            raise AuditorError("the Finance SDK could not create an instance (NewSdk returned NULL)")
        ret = self.lib.Init(self.handle, _c(corp_id), _c(secret))
        if ret != 0:
            self.close()
            raise AuditorError(
                f"the Finance SDK's Init returned {ret} ({ERROR_NAMES.get(ret, 'unknown error')}): check "
                "wecom.corp_id and the archive secret (会话内容存档 Secret, not an application's)"
            )

    def _own_thread(self) -> None:
        if threading.get_ident() != self.thread:
            raise RuntimeError("a Finance SDK instance is used from one thread only; create one per thread")

    def get_chat_data(self, seq: int, limit: int) -> bytes:
        self._own_thread()
        chunk = self.lib.NewSlice()
        try:
            ret = self.lib.GetChatData(
                self.handle, seq, limit, self.proxy, self.password, self.timeout, chunk
            )
            if ret != 0:
                raise SdkError(ret, "GetChatData")
            return _read(self.lib.GetContentFromSlice(chunk), self.lib.GetSliceLen(chunk))
        finally:
            self.lib.FreeSlice(chunk)

    def decrypt_data(self, random_key: bytes, encrypt_msg: str) -> bytes:
        self._own_thread()
        chunk = self.lib.NewSlice()
        try:
            ret = self.lib.DecryptData(random_key, _c(encrypt_msg), chunk)
            if ret != 0:
                raise SdkError(ret, "DecryptData")
            return _read(self.lib.GetContentFromSlice(chunk), self.lib.GetSliceLen(chunk))
        finally:
            self.lib.FreeSlice(chunk)

    def get_media_data(self, index: str, sdkfileid: str) -> MediaChunk:
        self._own_thread()
        media = self.lib.NewMediaData()
        try:
            ret = self.lib.GetMediaData(
                self.handle, _c(index), _c(sdkfileid), self.proxy, self.password, self.timeout, media
            )
            if ret != 0:
                raise SdkError(ret, "GetMediaData")
            data = _read(self.lib.GetData(media), self.lib.GetDataLen(media))
            next_index = _read(self.lib.GetOutIndexBuf(media), self.lib.GetIndexLen(media))
            return MediaChunk(
                data, next_index.decode("ascii", "replace"), bool(self.lib.IsMediaDataFinish(media))
            )
        finally:
            self.lib.FreeMediaData(media)

    def close(self) -> None:
        if self.handle:
            self.lib.DestroySdk(self.handle)
            self.handle = None

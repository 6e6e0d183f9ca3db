"""The ctypes binding against a stub library built from tests/stub_sdk/finance_stub.c (the SDK's C API):
argument types, lengths, NUL bytes, errors, and every slice and media buffer freed."""

from __future__ import annotations

import ctypes
import ctypes.util
import shutil
import subprocess
import threading
from pathlib import Path

import pytest

from auditor.errors import AuditorError
from auditor.wecom.pull import fetch_media
from auditor.wecom.sdk import CtypesSdk, SdkError, load_library

COMPILER = shutil.which("gcc") or shutil.which("cc")
pytestmark = pytest.mark.skipif(COMPILER is None, reason="no C compiler to build the stub SDK")


@pytest.fixture(scope="module")
def stub(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("stub") / "libWeWorkFinanceSdk_C.so"
    source = Path(__file__).parent / "stub_sdk" / "finance_stub.c"
    subprocess.run([COMPILER, "-shared", "-fPIC", "-O1", "-o", str(out), str(source)], check=True)
    return out


@pytest.fixture
def sdk(stub):
    instance = CtypesSdk(
        str(stub), "wwstub", "s3cret", proxy="socks5://10.0.0.1:1080", password="u:p", timeout=7
    )
    yield instance
    instance.close()


def live(stub) -> int:
    lib = ctypes.CDLL(str(stub))  # the same loaded object: dlopen returns the handle already open
    lib.StubLive.restype = ctypes.c_int
    return lib.StubLive()


def test_get_chat_data_passes_64_bit_seq_limit_proxy_and_timeout(sdk, stub):
    lib = ctypes.CDLL(str(stub))
    lib.StubLastSeq.restype = ctypes.c_ulonglong
    lib.StubLastProxy.restype = ctypes.c_char_p
    lib.StubLastPasswd.restype = ctypes.c_char_p
    seq = 2**40 + 5  # would be truncated by a default int argtype
    raw = sdk.get_chat_data(seq, 1000)
    assert f'"seq":{seq + 1}'.encode() in raw
    assert lib.StubLastSeq() == seq and lib.StubLastLimit() == 1000 and lib.StubLastTimeout() == 7
    assert lib.StubLastProxy() == b"socks5://10.0.0.1:1080" and lib.StubLastPasswd() == b"u:p"
    assert live(stub) == 1_000_000  # only the SDK instance itself is still allocated


def test_decrypted_payloads_are_read_by_length_nul_bytes_included(sdk, stub):
    assert sdk.decrypt_data(b"k", "你好") == "你好".encode() + b"\x00tail"
    assert live(stub) == 1_000_000


@pytest.mark.parametrize(
    ("call", "code"),
    [
        (lambda s: s.decrypt_data(b"wrong", "x"), 10006),
        (lambda s: s.get_chat_data(999, 10), 10001),
        (lambda s: s.get_media_data("", "nosuchfile"), 10005),
    ],
)
def test_errors_are_sdk_errors_and_still_free_the_slice(sdk, stub, call, code):
    with pytest.raises(SdkError) as caught:
        call(sdk)
    assert caught.value.code == code
    assert live(stub) == 1_000_000


def test_media_chunks_follow_the_index_until_finished(sdk, stub):
    data = fetch_media(sdk, "file1", sleep=lambda _: None)
    assert data == bytes((i % 251) for i in range(3000))  # NUL bytes included
    assert live(stub) == 1_000_000


def test_close_destroys_the_instance(stub):
    instance = CtypesSdk(str(stub), "wwstub", "s3cret")
    instance.close()
    instance.close()  # idempotent
    assert live(stub) == 0


def test_init_failure_is_a_configuration_error_and_frees_the_instance(stub):
    with pytest.raises(AuditorError, match=r"Init returned 10000.*corp_id") as caught:
        CtypesSdk(str(stub), "wwstub", "wrong")
    assert caught.value.exit_code == 2
    assert live(stub) == 0


def test_an_instance_refuses_other_threads(sdk):
    errors = []
    worker = threading.Thread(target=lambda: errors.append(_catch(lambda: sdk.get_chat_data(1, 1))))
    worker.start()
    worker.join()
    assert isinstance(errors[0], RuntimeError)


def _catch(call):
    try:
        call()
    except Exception as exc:  # returned for the assertion
        return exc
    return None


def test_missing_library_or_symbols_are_configuration_errors(tmp_path):
    with pytest.raises(AuditorError, match="cannot load") as caught:
        load_library(str(tmp_path / "nope.so"))
    assert caught.value.exit_code == 2
    libc = ctypes.util.find_library("c")
    if libc:
        with pytest.raises(AuditorError, match="has no function NewSdk"):
            load_library(libc)

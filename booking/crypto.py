"""Encryption of the calendar app passwords a practice gives us (Fernet: AES with an HMAC).

The keys come from CALENDAR_ENCRYPTION_KEY (one or more Fernet keys, comma-separated: the first encrypts,
all decrypt, so a key can be rotated). Without it, a key derived from SECRET_KEY with HKDF is used; it is
also kept as a last decryptor, so setting CALENDAR_ENCRYPTION_KEY later still reads what was saved before.
"""

import base64
from functools import cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings


class UnreadableSecret(Exception):
    """The stored password was encrypted with a key this deployment no longer has."""


def derived_key(secret_key: str) -> bytes:
    """A Fernet key derived from Django's SECRET_KEY, used for nothing but calendar passwords."""
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=b"medspa-calendar-credentials", info=b"caldav passwords")
    return base64.urlsafe_b64encode(hkdf.derive(secret_key.encode()))


@cache
def _fernet(keys: tuple[str, ...], secret_key: str) -> MultiFernet:
    return MultiFernet([Fernet(key) for key in keys] + [Fernet(derived_key(secret_key))])


def _current() -> MultiFernet:
    return _fernet(tuple(settings.CALENDAR_ENCRYPTION_KEYS), settings.SECRET_KEY)


def encrypt(plain: str) -> str:
    return _current().encrypt(plain.encode()).decode()


def decrypt(token: str) -> str:
    if not token:
        return ""
    try:
        return _current().decrypt(token.encode()).decode()
    except InvalidToken:
        raise UnreadableSecret(
            "The saved app password cannot be read with this server's keys; enter it again."
        ) from None

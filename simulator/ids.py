"""Pseudonymous identifiers, made vectorised from random bytes so a world of millions stays fast.

Honest ids are built from alphabets that can never look like personal data: maids are UUID v4
strings (36 characters, far longer than any phone pattern), cookies start with `ck_`,
publisher ids with `pub_`, event ids with `ev_`.
"""

from __future__ import annotations

import numpy as np
import polars as pl
import pyarrow as pa

HEX_PAIRS = np.array([f"{value:02x}" for value in range(256)], dtype="S2")
ALPHANUMERIC = np.frombuffer(
    b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ", dtype="S1"
)
# Odd multiplier: multiplication modulo 2**64 is then a bijection, so distinct sequence
# numbers always give distinct event ids.
_GOLDEN_MULTIPLIER = np.uint64(0x9E3779B97F4A7C15)


def _hex_chars(raw_bytes: np.ndarray) -> np.ndarray:
    """(n, k) uint8 -> (n, 2k) array of single hex characters."""
    pairs = np.ascontiguousarray(HEX_PAIRS[raw_bytes])
    return pairs.view("S1").reshape(raw_bytes.shape[0], raw_bytes.shape[1] * 2)


def _join_bytes(chars: np.ndarray) -> np.ndarray:
    """(n, k) array of single characters -> n byte strings of length k."""
    return np.ascontiguousarray(chars).view(f"S{chars.shape[1]}").ravel()


def _join_chars(chars: np.ndarray) -> np.ndarray:
    """(n, k) array of single characters -> n unicode strings of length k."""
    return _join_bytes(chars).astype(f"U{chars.shape[1]}")


def maid_ids(rng: np.random.Generator, count: int) -> np.ndarray:
    """Lower-case UUID v4 strings (mobile advertising ids)."""
    raw = rng.integers(0, 256, size=(count, 16), dtype=np.uint8)
    raw[:, 6] = (raw[:, 6] & 0x0F) | 0x40
    raw[:, 8] = (raw[:, 8] & 0x3F) | 0x80
    hex_chars = _hex_chars(raw)
    chars = np.full((count, 36), b"-", dtype="S1")
    for target, source in ((0, 0), (9, 8), (14, 12), (19, 16), (24, 20)):
        length = {0: 8, 24: 12}.get(target, 4)
        chars[:, target:target + length] = hex_chars[:, source:source + length]
    return _join_chars(chars)


def cookie_ids(rng: np.random.Generator, count: int) -> np.ndarray:
    """`ck_` followed by 24 hex characters."""
    raw = rng.integers(0, 256, size=(count, 12), dtype=np.uint8)
    prefix = np.frombuffer(b"ck_", dtype="S1")
    chars = np.concatenate([np.broadcast_to(prefix, (count, 3)), _hex_chars(raw)], axis=1)
    return _join_chars(chars)


def publisher_ids(rng: np.random.Generator, count: int) -> np.ndarray:
    """`pub_` followed by 14 alphanumeric characters."""
    picks = ALPHANUMERIC[rng.integers(0, len(ALPHANUMERIC), size=(count, 14))]
    prefix = np.frombuffer(b"pub_", dtype="S1")
    chars = np.concatenate([np.broadcast_to(prefix, (count, 4)), picks], axis=1)
    return _join_chars(chars)


def event_ids(sequence_numbers: np.ndarray, salt: int) -> np.ndarray:
    """`ev_` + 16 hex characters; a bijective scramble of the sequence numbers (never collide)."""
    return _event_id_bytes(sequence_numbers, salt).astype("U19")


def event_id_series(sequence_numbers: np.ndarray, salt: int) -> pl.Series:
    """The same ids as `event_ids`, as a Polars string column (one byte per character on the
    way, so millions of ids stay small)."""
    as_bytes = pa.array(_event_id_bytes(sequence_numbers, salt), type=pa.binary(19))
    return pl.Series(as_bytes.cast(pa.binary()).cast(pa.string()))


def _event_id_bytes(sequence_numbers: np.ndarray, salt: int) -> np.ndarray:
    with np.errstate(over="ignore"):
        mixed = sequence_numbers.astype(np.uint64) ^ np.uint64(salt & 0xFFFFFFFFFFFFFFFF)
        mixed *= _GOLDEN_MULTIPLIER
        mixed ^= mixed >> np.uint64(31)
        mixed *= _GOLDEN_MULTIPLIER
    raw = mixed.astype(">u8").view(np.uint8).reshape(-1, 8)
    prefix = np.frombuffer(b"ev_", dtype="S1")
    chars = np.concatenate([np.broadcast_to(prefix, (len(raw), 3)), _hex_chars(raw)], axis=1)
    return _join_bytes(chars)

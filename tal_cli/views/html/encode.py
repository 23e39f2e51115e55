"""Compact, exact encodings of page data: printed numbers as integers, packed columns, deflate + base64.

A page shows numbers exactly as the terminal prints them. Rather than shipping floats and
formatting them again in JavaScript (whose rounding differs from Python's on ties), each value
is printed here by Python and shipped as the integer its digits spell:

- :func:`fixed_digits`: ``format(x, ".4f")`` -> ``int`` of its digits (``0.0551`` -> ``551`` at 4 digits);
  the page puts the decimal point back (``fmtFixed`` in ``static/common.js``).
- :func:`g3_digits`: ``format(x, ".3g")`` as a 3-digit mantissa and a decimal exponent (from
  ``format(x, ".2e")``, which rounds to the same 3 significant digits); the page rebuilds the
  ``.3g`` text (``fmtG3``).

Columns are packed into one binary container (:func:`pack`): ``b"TAL1"``, a little-endian
``uint32`` header length, a JSON header ``{"meta": ..., "columns": [[name, dtype, offset,
length], ...]}``, then each column's little-endian bytes at an 8-byte-aligned offset. The
container is deflated (zlib format, which the browser's ``DecompressionStream("deflate")``
reads) and base64-encoded. :func:`unpack` reverses it.
"""

from __future__ import annotations

import base64
import json
import struct
import zlib
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

MAGIC = b"TAL1"
#: Column dtypes the page's decoder knows (``TYPED`` in ``static/common.js``).
DTYPES = ("uint8", "int8", "uint16", "int16", "uint32", "int32", "float32", "float64")
_ALIGN = 8


def fixed_digits(values: Iterable[float], digits: int) -> np.ndarray:
    """Each value as Python prints it with ``digits`` decimals, as the integer those digits spell.

    ``fixed_digits([0.98765, 0.5], 4)`` -> ``[9877, 5000]`` (``"0.9877"``, ``"0.5000"``).

    Returns:
        ``int64[N]``; a negative value keeps its sign (``"-0.0000"`` becomes 0).
    """
    fmt = f".{digits}f"
    return np.array([int(format(v, fmt).replace(".", "")) for v in values], dtype=np.int64)


def g3_digits(values: Iterable[float]) -> tuple[np.ndarray, np.ndarray]:
    """Each value as Python's ``.3g`` would print it: ``(mantissa, exponent)``, ``x ~ mantissa * 10**(exponent - 2)``.

    ``0.0551`` -> ``(551, -2)``; ``100.0`` -> ``(100, 2)``; ``0`` -> ``(0, 0)``. The mantissa is the
    three significant digits ``.2e`` prints (100..999, or 0), its sign kept.

    Returns:
        ``(int64[N], int64[N])``.
    """
    mant, exp = [], []
    for v in values:
        text = format(v, ".2e")  # "5.51e-02"; ".3g" rounds to these same three digits
        head, _, tail = text.partition("e")
        m = int(head.replace(".", ""))
        mant.append(m)
        exp.append(int(tail) if m else 0)
    return np.array(mant, dtype=np.int64), np.array(exp, dtype=np.int64)


def narrow(values: Any) -> np.ndarray:
    """An integer array in the smallest dtype of :data:`DTYPES` that holds it (floats: float32).

    Raises:
        ValueError: integers beyond int32 / uint32.
    """
    arr = np.asarray(values)
    if arr.dtype.kind == "b":
        return arr.astype(np.uint8)
    if arr.dtype.kind == "f":
        return arr.astype(np.float32)
    if arr.size == 0:
        return arr.astype(np.uint8)
    lo, hi = int(arr.min()), int(arr.max())
    for dtype in (np.uint8, np.int8, np.uint16, np.int16, np.uint32, np.int32):
        info = np.iinfo(dtype)
        if info.min <= lo and hi <= info.max:
            return arr.astype(dtype)
    raise ValueError(f"values {lo}..{hi} do not fit 32 bits")


def pack(meta: Mapping[str, Any], columns: Mapping[str, Any], level: int = 6) -> str:
    """One base64 string: ``meta`` (JSON-ready) and the ``columns`` (arrays, narrowed), deflated.

    Raises:
        ValueError: a column the page cannot decode.
    """
    entries, chunks, offset = [], [], 0
    for name, values in columns.items():
        arr = np.ascontiguousarray(narrow(values))
        if arr.ndim != 1 or arr.dtype.name not in DTYPES:
            raise ValueError(f"column {name}: expected a 1-D array of {', '.join(DTYPES)}, got {arr.dtype} {arr.shape}")
        data = arr.astype(arr.dtype.newbyteorder("<")).tobytes()
        entries.append([name, arr.dtype.name, offset, int(arr.size)])
        chunks.append(data + b"\0" * (-len(data) % _ALIGN))
        offset += len(chunks[-1])
    header = json.dumps({"meta": meta, "columns": entries}, separators=(",", ":"), allow_nan=False).encode()
    header += b" " * (-(len(header) + 8) % _ALIGN)  # columns start 8-byte aligned
    blob = MAGIC + struct.pack("<I", len(header)) + header + b"".join(chunks)
    return base64.b64encode(zlib.compress(blob, level)).decode("ascii")


def pack_views(views: Sequence[tuple[Mapping[str, Any], Mapping[str, Any]]]) -> str:
    """One container holding an image's view under every setting: meta ``{"views": [meta, ...]}``,
    columns prefixed ``"<setting>/"`` (the page picks one setting's columns by that prefix)."""
    metas = [meta for meta, _ in views]
    columns = {f"{k}/{name}": col for k, (_, cols) in enumerate(views) for name, col in cols.items()}
    return pack({"views": metas}, columns)


def unpack(text: str) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """``(meta, columns)`` of a :func:`pack` string (what the page's ``decodeBlob`` does).

    Raises:
        ValueError: not a container.
    """
    blob = zlib.decompress(base64.b64decode(text))
    if blob[:4] != MAGIC:
        raise ValueError("not a tal page container")
    (n,) = struct.unpack("<I", blob[4:8])
    header = json.loads(blob[8:8 + n])
    base = 8 + n
    columns = {name: np.frombuffer(blob, dtype=np.dtype(dtype).newbyteorder("<"), count=length, offset=base + offset)
               for name, dtype, offset, length in header["columns"]}
    return header["meta"], columns

"""views/html/encode.py: printed digits as integers, narrowed columns, the deflated container."""

from __future__ import annotations

import base64
import zlib

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tal_cli.views.html.encode import fixed_digits, g3_digits, narrow, pack, unpack


def test_fixed_digits_are_the_printed_digits() -> None:
    # 0.00005 and 0.00015 are stored just above and just below: Python prints 0.0001 for both.
    assert fixed_digits([0.98765, 0.5, 0.0, 1.0, 0.00005, 0.00015], 4).tolist() == [9877, 5000, 0, 10000, 1, 1]
    assert fixed_digits([12.345678], 5).tolist() == [1234568]
    assert fixed_digits([2.5, 3.5], 0).tolist() == [2, 4]  # Python rounds half to even, as it prints


def test_g3_digits_hand_cases() -> None:
    mant, exp = g3_digits([0.0551, 100.0, 0.0, 1.38e-19, 0.925, 9.996, 1234.0, 0.5])
    assert mant.tolist() == [551, 100, 0, 138, 925, 100, 123, 500]
    assert exp.tolist() == [-2, 2, 0, -19, -1, 1, 3, -1]


def _g3_text(m: int, e: int) -> str:
    """Python's .3g text rebuilt from (mantissa, exponent): what static/common.js fmtG3 does."""
    if m == 0:
        return "0"
    d = str(abs(m))
    if e < -4 or e >= 3:
        head = (d[0] + "." + d[1:]).rstrip("0").rstrip(".")
        return f"{head}e{'-' if e < 0 else '+'}{abs(e):02d}"
    decimals = 2 - e
    text = f"{abs(m) / 10 ** decimals:.{decimals}f}" if decimals > 0 else str(abs(m))
    return text.rstrip("0").rstrip(".") if "." in text else text


@given(st.floats(min_value=0, max_value=1e6, allow_nan=False, allow_infinity=False))
def test_g3_digits_rebuild_the_printed_text(x: float) -> None:
    mant, exp = g3_digits([x])
    assert _g3_text(int(mant[0]), int(exp[0])) == format(x, ".3g")


def test_narrow_picks_the_smallest_dtype() -> None:
    assert narrow([0, 255]).dtype == np.uint8
    assert narrow([-1, 5]).dtype == np.int8
    assert narrow([0, 256]).dtype == np.uint16
    assert narrow([-129, 0]).dtype == np.int16
    assert narrow([0, 70000]).dtype == np.uint32
    assert narrow([-70000, 0]).dtype == np.int32
    assert narrow([True, False]).dtype == np.uint8
    assert narrow(np.array([0.5])).dtype == np.float32
    with pytest.raises(ValueError, match="do not fit 32 bits"):
        narrow([0, 1 << 33])


def test_pack_round_trip_and_layout() -> None:
    cols = {"a": np.array([1, 2, 3]), "b": np.array([-5, 70000]), "c": np.array([0.25], dtype=np.float32),
            "empty": np.zeros(0, dtype=np.int64)}
    text = pack({"x": [1, "é"]}, cols)
    blob = zlib.decompress(base64.b64decode(text))
    assert blob[:4] == b"TAL1"
    meta, out = unpack(text)
    assert meta == {"x": [1, "é"]}
    assert {k: v.tolist() for k, v in out.items()} == {"a": [1, 2, 3], "b": [-5, 70000], "c": [0.25], "empty": []}
    assert out["a"].dtype == np.uint8 and out["b"].dtype == np.int32
    n = int.from_bytes(blob[4:8], "little")
    assert (8 + n) % 8 == 0  # columns start aligned, so the page can view them as typed arrays


def test_unpack_refuses_other_data() -> None:
    with pytest.raises(ValueError, match="not a tal page container"):
        unpack(base64.b64encode(zlib.compress(b"XXXX\0\0\0\0")).decode())

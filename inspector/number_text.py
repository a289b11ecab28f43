"""Numbers as text for people: fixed decimals, never a negative zero, a real minus sign where asked.

`f"{-0.0004:+.3f}"` gives "-0.000": a sign that the shown digits do not carry, read as
"slightly negative" when the value rounds to nothing. Rounding first and adding 0.0
turns −0.0 into +0.0 (IEEE 754: −0.0 + 0.0 = +0.0 under round-to-nearest).
"""

from __future__ import annotations

import math

MINUS = "−"  # U+2212, the typographic minus: as wide as the plus sign, so signed columns align


def fixed(value: float, digits: int, *, sign: bool = False, minus: str = "-", nan: str = "—") -> str:
    """`value` with `digits` decimals; `sign`: always a sign (+0.000 for zero); `minus`: the character
    for negatives ("-" for files a program reads, MINUS on screen); `nan`: the text for NaN."""
    value = float(value)
    if math.isnan(value):
        return nan
    rounded = round(value, digits) + 0.0  # −0.0 → +0.0 once rounded
    text = f"{rounded:+.{digits}f}" if sign else f"{rounded:.{digits}f}"
    return text.replace("-", minus) if minus != "-" else text

"""Worst-case error of each `function` table at 16 bits, for docs/ops.md.

For each function, the input is a 16-bit tensor covering [-R, R] (its scale
chosen as the quantizer would for calibration values reaching R) and the
output scale is chosen for the function's largest value on that range; the
table is fitted as `zkml compile` fits it, and the error is measured exactly
over every one of the 2^16 input integers in [-R, R] (the certified table
error the bound starts from). Run: `.venv/bin/python bench/function_errors.py`.
"""

from __future__ import annotations

import numpy as np

from zkml.ops.base import HEADROOM, frac_bits
from zkml.ops.functions import DOMAIN_FLOOR, FunctionNode, _fit, _table_error, function_bound

CASES = [  # name, params, input range R (or (lo, hi) where the domain is one-sided)
    ("sigmoid", (), 8.0), ("tanh", (), 4.0), ("exp", (), (-8.0, 0.0)), ("log", (), (0.05, 16.0)),
    ("erf", (), 4.0), ("gelu", (), 6.0), ("softplus", (), 8.0), ("elu", (1.0,), 4.0),
    ("hardswish", (), 6.0), ("mish", (), 6.0), ("softsign", (), 8.0), ("sqrt", (), (0.0, 16.0)),
    ("reciprocal", (), (1.0, 16.0)), ("rsqrt", (1e-5,), (0.01, 4.0)), ("sin", (), 4.0),
]


def main() -> None:
    bits = 16
    print("| function | input range | k | shift | constraints/element | max error | output step |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for name, params, span in CASES:
        lo, hi = (-span, span) if not isinstance(span, tuple) else span
        node = FunctionNode(("x",), "y", name, params, DOMAIN_FLOOR)
        f_in = frac_bits(max(abs(lo), abs(hi)), bits)
        xs = np.linspace(lo, hi, 4001)
        f_out = frac_bits(HEADROOM * float(np.abs(node.f(xs)).max()), bits)
        q_lo, q_hi = int(np.ceil(lo * 2.0**f_in)), int(np.floor(hi * 2.0**f_in))
        for k in range(4, 11):
            shift = 2 * (bits - k) + 2
            table = _fit(node, bits, f_in, k, shift, f_out, bits)
            if function_bound(table, bits, k) >= 2**120:
                continue
            err = _table_error(node, table, bits, k, shift, f_in, f_out, q_lo, q_hi)
            if err <= 2.0 ** -f_out or k == 10:
                break
        cost = (bits + 1) + (2**k - k - 1) + 3 + bits + shift + 2
        print(f"| {name} | [{lo:g}, {hi:g}] | {k} | {shift} | {cost} | {err:.2e} | "
              f"{2.0 ** -f_out:.2e} |")


if __name__ == "__main__":
    main()

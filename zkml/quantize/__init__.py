"""Quantizer: float graph → quantized program (power-of-two scales) + report."""

from zkml.quantize.quantizer import frac_bits, quantize

__all__ = ["quantize", "frac_bits"]

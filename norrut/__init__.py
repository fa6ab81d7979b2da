"""Norrut: propensity audiences for people curious about working in northern Sweden."""

__version__ = "0.1.0"

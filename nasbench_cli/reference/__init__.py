"""Plain re-implementations of the original papers' algorithms, kept as oracles.

They follow the published code step by step (slow on purpose) so that tests and benchmark
scripts can check the toolkit's fast implementations against them.
"""

"""Allocation: each layer's precision (today from --precision and --allocation; the OHQ ILP will live here)."""

"""Plain data every stage passes on: the IR, targets, per-layer precision, the quantized model, paths, errors.

Imports nothing else of mcuforge (tests/unit/test_import_direction.py keeps it so)."""

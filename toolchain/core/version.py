"""The mcuforge version: in core so every stage (codegen's file headers included) can read it."""

__version__ = "0.1.0"

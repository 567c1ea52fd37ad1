"""Running C: build for a target and run natively or under QEMU, host libraries through cffi, `mcuforge run`."""

"""Dataset collection: the on-disk layout, the route writer and the PyTorch reader.

Kept import-light on purpose: import `driving.collect.dataset` (torch) only where it is needed.
"""

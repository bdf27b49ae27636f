"""Dataset collection: the on-disk layout, the route writer, route folder readers (ours and
TransFuser 2022's, behind `route_reader.RouteReader`) and the PyTorch dataset.

Kept import-light on purpose: import `driving.collect.dataset` (torch) only where it is needed.
"""

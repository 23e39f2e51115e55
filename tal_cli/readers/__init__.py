"""Readers and sources: files become the core's inputs here, and nowhere else.

- :mod:`.images`  images, their size, and the letterbox to the network input
- :mod:`.labels`  YOLO label files
- :mod:`.preds`   saved head outputs (PREDS) and their metadata, decoded
- :mod:`.config`  settings YAML files
- :mod:`.sources` what ``tal sweep`` reads: samples, dataset folders, dataset YAMLs, triples
- :mod:`.scene`   one image made ready for the assigner (gts in network pixels, decoded head)
- :mod:`.paths`   path helpers
"""

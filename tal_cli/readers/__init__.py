"""Readers and sources: files become the core's inputs here, and nowhere else.

- :mod:`.images`       images, their size, and the letterbox to the network input
- :mod:`.labels`       YOLO label files, as ultralytics' loader reads them
- :mod:`.verdicts`     ultralytics' loader verdict on one image and its label file
- :mod:`.datasets`     dataset YAMLs and image folders, resolved as ultralytics resolves them
- :mod:`.preds`        saved head outputs (PREDS) and their metadata, decoded
- :mod:`.config`       settings YAML files
- :mod:`.sources`      what ``tal sweep`` reads: samples, dataset folders, dataset YAMLs, triples
- :mod:`.pairs`        what ``tal check`` reads: image/label pairs of a dataset, a folder, samples
- :mod:`.scene`        one image made ready for the assigner (gts in network pixels, decoded head)
- :mod:`.train_record` where a run keeps the training monitor's record, and its ``epochs.json`` loaded
- :mod:`.paths`        path helpers
"""

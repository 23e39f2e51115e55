"""Counting over assignments and boxes: totals, per-gt accounts, reasons, gates. No files, no printing.

- :mod:`.counts`     the COCO size buckets (``size_bucket``) and the ``Count`` of gts / zero / rate
- :mod:`.accounting` per gt of one image: each stage's anchors, conflicts, best values (``tal assign``)
- :mod:`.reasons`    how far each gt got, and why a gt has no positive (one code per gt)
- :mod:`.sweep`      one ``SweepRow`` of totals per setting (``tal sweep``)
- :mod:`.gt_status`  every gt's positives under every setting of a sweep (``--html``)
- :mod:`.gates`      the CI gates (``--max-zero-positive-rate`` and the others) and their ``Outcome``
- :mod:`.geometry`   what the boxes alone decide: candidates per stride, DFL reach, shared anchors
- :mod:`.check`      ``tal check``'s per-file records and per-setting totals
- :mod:`.check_gts`  one file's gts under one setting, gt by gt (``tal check --html``)
- :mod:`.training`   the training monitor's counters, its ``EpochRecord``, ``RunInfo`` and ``TrainRecord``
"""

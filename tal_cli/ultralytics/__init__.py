"""The ultralytics integration: the only package of ``tal`` that imports ultralytics (lazily).

- :mod:`.export` running an ultralytics model on images and saving PREDS files (``tal export``)

Needs the optional extra: ``pip install "tal[ultralytics]"``.
"""

"""The reference configuration, shipped inside the package so that every service and
`kanalvakt up` find it wherever they are started.

A kommun never edits this file: `kanalvakt init DIR` writes a copy to edit, and
`KOMMUN_CONFIG` points at that copy.
"""

from pathlib import Path

REFERENCE_KOMMUN_CONFIG = Path(__file__).resolve().parent / "kommun.yaml"

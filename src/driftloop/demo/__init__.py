"""Synthetic brain-MRI demo data with known drift scenarios (see docs/demo.md).

``generate_dataset`` writes the whole set; ``scenarios.apply`` changes one image.
"""

from driftloop.demo.generate import DatasetInfo, generate_dataset

__all__ = ["DatasetInfo", "generate_dataset"]

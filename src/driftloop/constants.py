"""Names shared by the package, the DAGs, the KFP components and the deploy files.

The steps image tag is defined here once; a test checks that every Dockerfile,
compose file, manifest, DAG and component refers to exactly this value.
"""

from __future__ import annotations

from typing import Final

VERSION: Final = "0.1.0"
STEPS_IMAGE_REPO: Final = "ghcr.io/driftloop/driftloop-steps"
STEPS_IMAGE: Final = f"{STEPS_IMAGE_REPO}:{VERSION}"
AIRFLOW_IMAGE_REPO: Final = "ghcr.io/driftloop/driftloop-airflow"
AIRFLOW_IMAGE: Final = f"{AIRFLOW_IMAGE_REPO}:{VERSION}"

CLASSES: Final = ("glioma", "meningioma", "notumor", "pituitary")
TUMOUR_CLASSES: Final = ("glioma", "meningioma", "pituitary")
SEVERITIES: Final = ("none", "low", "medium", "high")

# Asset URI a promotion emits; baseline_refresh is scheduled on it.
CHAMPION_ASSET_URI: Final = "driftloop://models/champion"

# Exit codes of the CLI (documented in the README).
EXIT_OK: Final = 0
EXIT_ERROR: Final = 1
EXIT_USAGE: Final = 2
EXIT_DRIFT: Final = 3
EXIT_INTERRUPTED: Final = 130

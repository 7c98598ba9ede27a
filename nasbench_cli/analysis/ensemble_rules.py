"""The names of correlate's ensemble rules and their column prefixes: a light module (no scipy),
so that the CLI can offer them as choices without importing the analysis at start-up."""

from typing import Dict

ENSEMBLE_PREFIX = "ensemble:"
#: how an ensemble combines its members' ranks -> the prefix of its column name
ENSEMBLE_RULES: Dict[str, str] = {"mean-rank": ENSEMBLE_PREFIX, "log-rank": "log-rank:", "vkdnw-rank": "vkdnw-rank:"}

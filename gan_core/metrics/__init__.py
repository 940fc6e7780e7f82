"""Training metrics: quality (Fréchet distance, KID), mode coverage, diversity and health alerts."""

from __future__ import annotations

from .coverage import coverage_stats
from .features import FEATURE_VERSION, FeatureNet, diversity, feature_net
from .health import Alert, HealthMonitor, check_finite
from .quality import QualityScorer, frechet_distance, kid

__all__ = [
    "FEATURE_VERSION", "Alert", "FeatureNet", "HealthMonitor", "QualityScorer", "check_finite",
    "coverage_stats", "diversity", "feature_net", "frechet_distance", "kid",
]

"""Training metrics: quality (Fréchet distance, KID), precision/recall, copies, mode coverage, diversity, alerts."""

from __future__ import annotations

from .coverage import coverage_stats
from .features import FEATURE_VERSION, FeatureNet, diversity, feature_net
from .fidelity import precision_recall
from .health import Alert, HealthMonitor, check_finite
from .memorization import CopyCheck, CopyReport, Neighbours, copy_pairs
from .quality import QualityScorer, frechet_distance, kid

__all__ = [
    "FEATURE_VERSION", "Alert", "CopyCheck", "CopyReport", "FeatureNet", "HealthMonitor", "Neighbours",
    "QualityScorer", "check_finite", "copy_pairs", "coverage_stats", "diversity", "feature_net", "frechet_distance",
    "kid", "precision_recall",
]

"""Training health checks over the metric stream: non-finite values, discriminator collapse, mode collapse."""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

from ..metric_names import COVERAGE_CLASSES, D_FAKE, D_REAL, DIVERSITY, LOSS_D, LOSS_G, LOSS_KEYS

# Thresholds (probabilities for D(x)/D(G(z)); loss/D for the BCE family, where 0 means a perfect D).
D_LOSS_LOW = 0.05
D_REAL_HIGH = 0.95
D_FAKE_LOW = 0.05
G_LOSS_HIGH = 3.0  # -log(0.05): the non-saturating G loss once D(G(z)) < 0.05
DOMINATED_FRACTION = 0.8  # share of the window that must show a dominant D
DIVERSITY_RATIO = 0.25  # samples less than a quarter as diverse as the real data = collapse
# Hysteresis: a collapse alert re-arms only once diversity is clearly back (above this ratio) for `patience`
# readings in a row; a run hovering around DIVERSITY_RATIO would otherwise alert at every dip.
DIVERSITY_REARM_RATIO = 0.4


@dataclass
class Alert:
    """A problem worth telling the user about."""

    kind: str  # "nan" | "d_wins" | "mode_collapse"
    step: int
    message: str  # one sentence: what happened and what to try


def check_finite(metrics: dict[str, float], step: int) -> Alert | None:
    """A "nan" alert when any metric (losses first) is NaN or infinite, else None: the one non-finite message, used
    by the health monitor and by the trainer when it stops on a non-finite step."""
    bad = [k for k, v in metrics.items() if not _finite(v)]
    if not bad:
        return None
    bad.sort(key=lambda k: (k not in LOSS_KEYS, k))  # name the losses first
    what = "Loss" if bad[0] in LOSS_KEYS else "A training metric"
    listed = ", ".join(f"{k}={metrics[k]}" for k in bad[:3])
    return Alert("nan", step, f"{what} became non-finite at step {step} ({listed}): lower the learning rates "
                              "(try halving lr_g and lr_d), turn off mixed precision if it is on, and resume "
                              "from the last checkpoint or restart.")


def _finite(v: object) -> bool:
    try:
        return math.isfinite(float(v))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return True  # not a number at all: not this check's business


class HealthMonitor:
    """Watches averaged metrics and returns each problem once when it appears, again only after it cleared.

    real_diversity: diversity() of the real set (None: assume the normalised ~1).
    window: number of update() calls a discriminator collapse must persist for (with metrics
    averaged every 10 steps, 20 updates = 200 steps).
    num_classes: classes of a labeled set; with >= 5 classes, coverage/classes <= 2 is a collapse
    (with 2-4 classes, a single covered class is). Unknown: only a single covered class counts.
    patience: consecutive low diversity/coverage readings needed (they are measured rarely, and one
    unlucky reading should not alarm). warmup_steps: readings before this step are ignored, since an
    untrained generator's samples often all look alike.
    """

    def __init__(self, real_diversity: float | None = None, window: int = 20, num_classes: int | None = None,
                 patience: int = 2, warmup_steps: int = 200) -> None:
        assert window >= 2 and patience >= 1
        self.real_diversity = real_diversity
        self.window = window
        self.num_classes = num_classes
        self.patience = patience
        self.warmup_steps = warmup_steps
        # Per update: (step, D dominant?, loss/G or nan); the last `window` updates with finite values.
        self._recent: deque[tuple[int, bool, float]] = deque(maxlen=window)
        self._armed = {"nan": True, "d_wins": True, "mode_collapse": True}
        self._collapse_streak = 0
        self._healthy_streak = 0  # consecutive clearly healthy readings, to re-arm mode_collapse
        self.history: list[Alert] = []  # every alert raised so far, oldest first

    def update(self, step: int, metrics: dict[str, float]) -> list[Alert]:
        """Feed one averaged metrics reading; returns the alerts that are new at this step."""
        new: list[Alert] = []
        nan = check_finite(metrics, step)
        if nan is not None:
            if self._armed["nan"]:
                self._armed["nan"] = False
                new.append(nan)
        else:
            self._armed["nan"] = True
            new += self._check_discriminator(step, metrics)
            new += self._check_mode_collapse(step, metrics)
        self.history += new
        return new

    # --- discriminator collapse ----------------------------------------------------------------

    def _check_discriminator(self, step: int, m: dict[str, float]) -> list[Alert]:
        if LOSS_D not in m and D_REAL not in m:
            return []
        self._recent.append((step, _d_dominant(m), float(m.get(LOSS_G, math.nan))))
        share = sum(d for _, d, _ in self._recent) / len(self._recent)
        if share < 0.5:
            self._armed["d_wins"] = True  # cleared: a later collapse is news again
        full = len(self._recent) == self.window
        if not (full and self._armed["d_wins"] and self._recent[-1][1] and share >= DOMINATED_FRACTION):
            return []
        g = [v for _, _, v in self._recent if math.isfinite(v)]
        if g and not (_slope(g) > 0 or sum(g[-3:]) / len(g[-3:]) >= G_LOSS_HIGH):
            return []  # D is strong but G is keeping up (its loss falls and stays moderate)
        self._armed["d_wins"] = False
        since = next(s for s, d, _ in self._recent if d)
        parts = [f"{k} {m[k]:.3g}" for k in (LOSS_D, D_REAL, D_FAKE, LOSS_G) if k in m]
        return [Alert("d_wins", step,
                      f"The discriminator has won outright since about step {since} ({', '.join(parts)}), so the "
                      "generator gets almost no useful gradient: lower the discriminator's learning rate (lr_d), "
                      "use one-sided label smoothing (real_label 0.9), or switch to the WGAN-GP loss.")]

    # --- mode collapse -------------------------------------------------------------------------

    def _check_mode_collapse(self, step: int, m: dict[str, float]) -> list[Alert]:
        ref = self.real_diversity or 1.0
        low = healthy = None  # None: not measured in this reading
        if DIVERSITY in m:
            div = float(m[DIVERSITY])
            low, healthy = div < DIVERSITY_RATIO * ref, div >= DIVERSITY_REARM_RATIO * ref
        if COVERAGE_CLASSES in m:
            limit = 2 if (self.num_classes or 0) >= 5 else 1
            classes = float(m[COVERAGE_CLASSES])
            low = bool(low) or classes <= limit
            healthy = (healthy is not False) and classes > limit + 1  # one class of margin
        if low is None or step < self.warmup_steps:
            return []
        if not low:
            self._collapse_streak = 0
            self._healthy_streak = self._healthy_streak + 1 if healthy else 0
            if self._healthy_streak >= self.patience:
                self._armed["mode_collapse"] = True
            return []
        self._healthy_streak = 0
        self._collapse_streak += 1
        if self._collapse_streak < self.patience or not self._armed["mode_collapse"]:
            return []
        self._armed["mode_collapse"] = False
        if DIVERSITY in m and float(m[DIVERSITY]) < DIVERSITY_RATIO * ref:
            what = f"sample diversity is {float(m[DIVERSITY]) / ref:.0%} of the real data's"
        else:
            of = f" of {self.num_classes}" if self.num_classes else ""
            what = f"only {int(m[COVERAGE_CLASSES])}{of} classes appear in the samples"
        return [Alert("mode_collapse", step,
                      f"Mode collapse at step {step}: {what}, so the generator keeps producing the same few images; "
                      "enable an EMA of the generator (ema 0.995), lower the learning rates, or switch to the "
                      "WGAN-GP loss.")]


def _d_dominant(m: dict[str, float]) -> bool:
    """True when this reading shows a discriminator that separates real from fake almost perfectly."""
    real, fake = m.get(D_REAL), m.get(D_FAKE)
    if real is not None and fake is not None and 0.0 <= real <= 1.0 and 0.0 <= fake <= 1.0:
        # Probabilities (BCE-family losses); raw critic scores (WGAN) fall outside [0, 1] and are ignored.
        if real > D_REAL_HIGH and fake < D_FAKE_LOW:
            return True
    loss_d = m.get(LOSS_D)
    return loss_d is not None and 0.0 <= loss_d < D_LOSS_LOW


def _slope(values: list[float]) -> float:
    """Least-squares slope of values against their index (per update)."""
    n = len(values)
    if n < 2:
        return 0.0
    mx = (n - 1) / 2
    my = sum(values) / n
    num = sum((i - mx) * (v - my) for i, v in enumerate(values))
    den = sum((i - mx) ** 2 for i in range(n))
    return num / den

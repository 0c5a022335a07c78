"""The session: one object combining the project lifecycle, scoring, review and models."""
from __future__ import annotations

from .analysis import AnalysisMixin
from .lifecycle import LifecycleMixin
from .models import ModelsMixin
from .review import ReviewMixin
from .scoring import ScoringMixin
from .sync import SyncMixin


class Session(LifecycleMixin, ScoringMixin, ReviewMixin, ModelsMixin, AnalysisMixin,
              SyncMixin):
    """The desktop app's state and actions, without Qt (see the package docstring)."""

"""The session: one object combining the project lifecycle, scoring, review and models."""
from __future__ import annotations

from .activity import ActivityMixin
from .analysis import AnalysisMixin
from .lifecycle import LifecycleMixin
from .models import ModelsMixin
from .review import ReviewMixin
from .scoring import ScoringMixin
from .sync import SyncMixin


class Session(LifecycleMixin, ScoringMixin, ReviewMixin, ModelsMixin, AnalysisMixin,
              SyncMixin, ActivityMixin):
    """The desktop app's state and actions, without Qt (see the package docstring)."""

    def __init__(self, *args, **kw):
        super().__init__(*args, **kw)
        self._watch_activity()

"""Models and adapters: every switch is tried on the model's worker first and applies only when
the new model (with its adapter) loaded; otherwise everything stays as it was."""
from __future__ import annotations

from dataclasses import replace
from typing import Callable

from ethoscout.core.errors import EthoscoutError
from ethoscout.core.jobs import DONE, PRIORITY_INTERACTIVE, Job, ModelConfig, job_priority

from .base import SessionBase
from .state import ModelChoice


@job_priority(PRIORITY_INTERACTIVE)  # ahead of rescoring and indexing submitted after it
@job_priority(PRIORITY_INTERACTIVE)  # ahead of queued indexing and scoring, which then use it
def load_model_job(ctx, config: ModelConfig, fallback: ModelConfig) -> dict:
    """On the model's worker: load ``config``; on failure go back to ``fallback`` and re-raise."""
    ctx.queue.configure(config)
    try:
        ctx.model()
        ctx.scorer().reset()  # text and window tensors of another model or adapter are stale
    except BaseException:
        ctx.queue.configure(fallback)
        raise
    return dict(ctx.queue.model_info)


class ModelsMixin(SessionBase):

    @property
    def adapter_version(self) -> int | None:
        return self.view.model.adapter_version if self.view.model else None

    def adapters(self) -> list[dict]:
        """The project's adapters, ``active`` the one in use (stored once the queue lands)."""
        if self.project is None:
            return []
        return [{**a, "active": a["version"] == self.adapter_version} for a in self.project.adapters()]

    def use_adapter(self, version: int | None) -> Job:
        """Use a trained adapter (None: the base model) once it loaded; then rescore."""
        self._need_project()
        choice = replace(self.view.model or self.model_choice(), adapter_version=version)
        return self._switch(choice, f"switching to {choice.describe()}")

    def switch_model(self, model: str, device: str, after: Callable[[], None] | None = None) -> Job:
        """Another checkpoint or device (from the settings). An active adapter belongs to the
        old checkpoint, so the new one starts as its base model."""
        version = self.view.model.adapter_version if self.view.model else None
        if version is not None and self.project is not None:
            base = self.project.adapter(version).get("base_model")
            if base is not None and base != model:
                version = None
        return self._switch(ModelChoice(model, device, version), f"loading {model}", after)

    def _switch(self, choice: ModelChoice, label: str, after: Callable[[], None] | None = None) -> Job:
        old = self.view.model or self.model_choice()
        fallback = self.config_for(old) if self.scope is not None or old.adapter_version is None \
            else ModelConfig(old.model, old.device)
        scope = self.scope

        def done(job):
            if job.status != DONE:
                if job.status == "failed":
                    self.message("error", f"{label} failed; still using {old.describe()} of {old.model}: "
                                          f"{job.error}")
                return
            self._apply_choice(choice)
            if after is not None:
                after()

        try:
            config = self.config_for(choice)
        except EthoscoutError as e:
            self.message("error", str(e))
            raise
        if scope is None:  # nothing open: the choice only needs to load when used
            self.service.configure(config)
            self._apply_choice(choice)
            if after is not None:
                after()
            return None
        return self._submit(self.service, load_model_job, config, fallback, label=label, kind="model",
                            on_done=done, key="model-switch")

    def _apply_choice(self, choice: ModelChoice) -> None:
        """The switch loaded: record it in the project and the view, rescore."""
        old = self.view.model
        self.prefs = replace(self.prefs, model=choice.model, device=choice.device)
        p = self.project
        if p is not None:  # queued: another process may hold the database
            self._queue_setting("model", choice.model, "the model choice")
            if (old.adapter_version if old else self.model_choice().adapter_version) != choice.adapter_version:
                self._queue_write(f"the choice of {choice.describe()}",
                                  lambda project: project.set_active_adapter(choice.adapter_version),
                                  kind="setting")
        self.view.model = choice
        self.events.emit("adapter", choice.adapter_version)
        self.message("info", f"using {choice.describe()} of {choice.model}")
        if p is None:
            return
        if old is None or (old.model, old.device) != (choice.model, choice.device):
            self._forget_curves()
        self.refresh_cache_status()  # an adapter may have its own feature cache; rescores when indexed

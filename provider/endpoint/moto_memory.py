"""moto remembers every model object it ever made (``BaseModel.instances_tracked``: for
its ``/moto-api`` dashboard, and to dispose S3 keys when a test resets it). In a server
that runs for hours that is every S3 object version and every Lambda function ever
created, deleted or not, bytes included: memory grew by about 1 KB a request. The
endpoint never resets moto, so model objects are not tracked here and a deleted object is
freed (moto's dashboard lists none)."""

from __future__ import annotations

from typing import Any

from provider.endpoint import patching


def stop_tracking_instances() -> None:
    """Make moto's models untracked (once per process; those tracked so far let go)."""
    from moto.core.common_models import BaseModel
    from moto.core.model_instances import reset_model_data

    def untracked(cls: type[BaseModel], *args: Any, **kwargs: Any) -> Any:
        return super(BaseModel, cls).__new__(cls)

    patching.install(BaseModel, "__new__", untracked)
    reset_model_data()

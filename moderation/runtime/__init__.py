"""Loading and using a model: the artifact registry, the scorer, the decision policy and hot reload (no Flask, no SQL)."""
from .._lazy import lazy_attributes

# Where each public name lives; a module is imported when one of its names is first used, so that the
# registry (moderation.runtime.artifact) can be read without importing scikit-learn.
_HOMES = {"Artifact": "artifact", "ArtifactError": "artifact", "Registry": "artifact", "load": "artifact",
          "ModelHolder": "holder", "Decision": "policy", "Policy": "policy", "PolicyError": "policy",
          "Result": "scorer", "Scorer": "scorer"}

__all__ = sorted(_HOMES)

__getattr__ = lazy_attributes(__name__, _HOMES)

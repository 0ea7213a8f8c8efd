"""Loading and using a model: the artifact registry, the scorer, the decision policy and hot reload (no Flask, no SQL)."""
from .artifact import Artifact, ArtifactError, Registry, load
from .holder import ModelHolder
from .policy import Decision, Policy, PolicyError
from .scorer import Result, Scorer

__all__ = ["Artifact", "ArtifactError", "Decision", "ModelHolder", "Policy", "PolicyError", "Registry", "Result",
           "Scorer", "load"]

"""Loading and using a model: the artifact registry, the scorer, the decision policy and hot reload (no Flask, no SQL)."""

"""Scoring a backlog: comments streamed in chunks and scored across cores (joblib) or on a Dask cluster."""
from .local import loaded_models, score_chunks, scorer_for
from .partitions import partition_meta, score_files_on_dask, score_partition
from .records import Record, read_rows, records_in_context

__all__ = ["Record", "loaded_models", "partition_meta", "read_rows", "records_in_context", "score_chunks",
           "score_files_on_dask", "score_partition", "scorer_for"]

"""Loading event files from an inbox into the warehouse, as docs/contract.md says.

Consecutive files (in name order) load as a batch (batch.py): each format's files are read side
by side in one statement, every row goes once through the one check
(warehouse/sql/queries/check_events.sql) into a temp table of checked rows, and one transaction
writes the batch's events, its quarantined rows and its files' raw.ingest_files records. A file
is known by the SHA-256 of its content (files.py), so a rerun, or the same content under another
name, loads nothing twice; a run killed at any moment leaves whole batches or nothing.
loading.py runs the whole inbox; reports.py holds what a run reports.

The names below are those other packages use (DEFAULT_EARLIEST_OCCURRED_AT is the ingest
settings' own, in warehouse/settings.py).
"""

from warehouse.ingest.files import InboxError, list_event_files
from warehouse.ingest.loading import ingest, ingest_inbox
from warehouse.ingest.reports import FileResult, IngestReport, StrictIngestError
from warehouse.settings import DEFAULT_EARLIEST_OCCURRED_AT

__all__ = [
    "DEFAULT_EARLIEST_OCCURRED_AT",
    "FileResult",
    "InboxError",
    "IngestReport",
    "StrictIngestError",
    "ingest",
    "ingest_inbox",
    "list_event_files",
]

"""Loading event files from an inbox into the warehouse, as shared/CONTRACT.md §1 says.

Clean files, the everyday case, take the direct load (direct.py): consecutive files (in name
order) are read together by DuckDB's own readers straight into raw.events through one check per
row (warehouse/sql/queries/direct_events.sql), and one transaction writes their events and their
raw.ingest_files records. A file with any bad row, unknown column or unusual layout is loaded on
its own through the line-checked path instead (line_checked.py): its rows stream into a temp
table of checked rows (warehouse/sql/queries/validate_events.sql), then one transaction writes
its events, its quarantined rows and its record together. Either way a file's events and its
record commit together. A file is known by the SHA-256 of its content (files.py), so a rerun,
or the same content under another name, loads nothing twice; a run killed at any moment leaves
whole files or nothing. loading.py runs the whole inbox; reports.py holds what a run reports.

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

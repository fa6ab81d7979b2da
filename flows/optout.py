"""Flow: apply an opt-out file, then remove every other copy of the persons' data.

All under the warehouse writer lock, in this order: the opt-out transaction (suppress and
delete); earlier export files rewritten without the persons or withdrawn; hidden temporary
folders of killed exports deleted; the warehouse file rewritten so deleted rows leave no
bytes (last, so it also covers the audit rows written before it). Each step is safe to rerun,
so a run that failed part-way is finished by running it again.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from prefect import flow, task

from flows.common import holding_the_warehouse, publish, retry_only_io_errors, run_name_with_today
from flows.reports import optout_markdown
from warehouse.settings import OptoutSettings


@task(name="apply-optouts", retries=2, retry_delay_seconds=10,
      retry_condition_fn=retry_only_io_errors)
def apply_optouts_task(warehouse_path: str, optouts_csv: str):
    from warehouse.optout import apply_optouts

    return apply_optouts(warehouse_path, optouts_csv)


@task(name="remove-persons-from-exports", retries=2, retry_delay_seconds=10,
      retry_condition_fn=retry_only_io_errors)
def remove_persons_from_exports_task(warehouse_path: str, exports_dir: str, optout_run_id: str):
    from activation.export_rewrite import remove_persons_from_exports

    return remove_persons_from_exports(warehouse_path, exports_dir, optout_run_id)


@task(name="remove-abandoned-export-folders")
def remove_abandoned_export_folders_task(exports_dir: str) -> int:
    from activation.export_run import remove_abandoned_temp_folders

    return len(remove_abandoned_temp_folders(Path(exports_dir)))


@task(name="compact-warehouse", retries=2, retry_delay_seconds=10,
      retry_condition_fn=retry_only_io_errors)
def compact_warehouse_task(warehouse_path: str):
    from warehouse.compaction import compact_warehouse

    return compact_warehouse(warehouse_path)


@flow(name="optout", flow_run_name=lambda: run_name_with_today("optout"), log_prints=True)
def optout(settings: OptoutSettings = OptoutSettings()):
    """Erase, or stop profiling, every person named in the opt-out file, everywhere."""
    home_paths = settings.norrut_home().ensure()
    warehouse_path, exports_dir = str(home_paths.warehouse_path), str(home_paths.exports_dir)
    with holding_the_warehouse(home_paths, settings.lock_wait_seconds):
        report = apply_optouts_task(warehouse_path, str(settings.optouts_path()))
        changes = remove_persons_from_exports_task(warehouse_path, exports_dir, report.run_id)
        temp_folders_removed = remove_abandoned_export_folders_task(exports_dir)
        compact_warehouse_task(warehouse_path)
    report = replace(
        report,
        export_files_rewritten=[c.export_file for c in changes if c.action == "rewritten"],
        export_files_withdrawn=[c.export_file for c in changes if c.action == "withdrawn"],
        temp_export_folders_removed=temp_folders_removed,
        warehouse_compacted=True,
    )
    publish(optout_markdown(report), key="optout-summary",
            description="Persons erased or suppressed")
    return report

"""Results of a run as tidy pandas tables, their SLA check, Parquet storage and JSON view."""

from __future__ import annotations

from vidnet_sim.results.epochs import epoch_links_table, epochs_table
from vidnet_sim.results.read import read_results
from vidnet_sim.results.schema import (
    EPOCH_LINKS_SCHEMA,
    EPOCHS_SCHEMA,
    HIST_SCHEMA,
    LINKS_SCHEMA,
    QUEUES_SCHEMA,
    RUN_SCHEMAS,
    SCHEMAS,
    SUMMARY_SCHEMA,
    Tables,
)
from vidnet_sim.results.sla import SlaTargets, check_sla
from vidnet_sim.results.store import (
    Results,
    ResultsFolderError,
    ResultsNotFoundError,
    check_run_folder,
    check_writable,
    default_run_dir,
    read_parquet_kwargs,
    safe_name,
    write_results,
)
from vidnet_sim.results.summary import sla_violations, summary_json
from vidnet_sim.results.tables import (
    build_tables,
    merge_hist,
    quantile_from_hist,
)

__all__ = [
    "EPOCHS_SCHEMA",
    "EPOCH_LINKS_SCHEMA",
    "HIST_SCHEMA",
    "LINKS_SCHEMA",
    "QUEUES_SCHEMA",
    "RUN_SCHEMAS",
    "SCHEMAS",
    "SUMMARY_SCHEMA",
    "Results",
    "ResultsFolderError",
    "ResultsNotFoundError",
    "SlaTargets",
    "Tables",
    "build_tables",
    "check_run_folder",
    "check_sla",
    "check_writable",
    "default_run_dir",
    "epoch_links_table",
    "epochs_table",
    "merge_hist",
    "quantile_from_hist",
    "read_parquet_kwargs",
    "read_results",
    "safe_name",
    "sla_violations",
    "summary_json",
    "write_results",
]

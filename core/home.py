"""Where Norrut keeps its state: the warehouse, the MLflow store, exports and accounts."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

HOME_ENV_VAR = "NORRUT_HOME"
DEFAULT_HOME = Path(".norrut")


@dataclass(frozen=True)
class NorrutHome:
    """Paths under one home folder; nothing is created until `ensure()` is called."""

    root: Path

    @classmethod
    def resolve(cls, home: str | os.PathLike[str] | None = None) -> NorrutHome:
        """Explicit argument, else $NORRUT_HOME, else ./.norrut."""
        chosen = home if home is not None else os.environ.get(HOME_ENV_VAR) or DEFAULT_HOME
        return cls(Path(chosen).expanduser().resolve())

    @property
    def warehouse_path(self) -> Path:
        return self.root / "warehouse.duckdb"

    @property
    def duckdb_temp_dir(self) -> Path:
        """Spill folder for DuckDB so large builds stay within the memory limit."""
        return self.root / "tmp" / "duckdb"

    @property
    def mlflow_dir(self) -> Path:
        return self.root / "mlflow"

    @property
    def mlflow_tracking_uri(self) -> str:
        return f"sqlite:///{self.mlflow_dir / 'mlflow.db'}"

    @property
    def mlflow_artifacts_dir(self) -> Path:
        return self.mlflow_dir / "artifacts"

    @property
    def inbox_dir(self) -> Path:
        """Where producers drop event files, unless a job is given another inbox."""
        return self.root / "inbox"

    @property
    def optouts_csv(self) -> Path:
        """The opt-out file the optout job applies unless given another."""
        return self.inbox_dir / "optouts.csv"

    @property
    def exports_dir(self) -> Path:
        return self.root / "exports"

    @property
    def health_file(self) -> Path:
        """The monitor's latest model health (aggregates only), which the portal shows."""
        return self.root / "monitoring" / "health.json"

    @property
    def users_file(self) -> Path:
        return self.root / "portal" / "users.json"

    @property
    def download_audit_log(self) -> Path:
        return self.root / "portal" / "downloads.jsonl"

    @property
    def locks_dir(self) -> Path:
        return self.root / "locks"

    def ensure(self) -> NorrutHome:
        for folder in (self.root, self.duckdb_temp_dir, self.mlflow_artifacts_dir,
                       self.exports_dir, self.locks_dir):
            folder.mkdir(parents=True, exist_ok=True)
        return self

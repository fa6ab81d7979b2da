"""The base of every job's settings: one typed object per job (ingest, optout, features, train,
promote, score, export, lift, pipeline), owned by the stage that runs it.

The same object is the CLI command's options (same names), the flow's one parameter, a
deployment's parameters in prefect.yaml (only what differs from these defaults) and the stage
function's argument. Paths left empty resolve under the Norrut home, in `NorrutHome` alone.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from core.home import NorrutHome

# Long enough for an hourly ingest or a training run to finish before a waiting job gives up.
DEFAULT_LOCK_WAIT_SECONDS = 600.0


def _split_commas(value: object) -> object:
    if isinstance(value, str):
        return tuple(part.strip() for part in value.split(",") if part.strip())
    return value


# A list of names, also given as one comma-separated string (the CLI's and a deployment form's way).
NameList = Annotated[tuple[str, ...], BeforeValidator(_split_commas)]


class FilesystemPath:
    """Marks a text setting that names a file or folder (see PathText)."""


# A setting naming a file or folder. The CLI makes a relative one absolute, so a flow run's
# parameters name the same file wherever the run works; a deployment gives it as written.
PathText = Annotated[str, FilesystemPath()]


class JobSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    home: PathText | None = Field(
        default=None, description="Norrut home folder; empty means $NORRUT_HOME, else ./.norrut.")
    lock_wait_seconds: float = Field(
        default=DEFAULT_LOCK_WAIT_SECONDS, ge=0,
        description="How long to wait for another run to release the warehouse before failing.")

    def norrut_home(self) -> NorrutHome:
        return NorrutHome.resolve(self.home)

"""The MLflow pyfunc model of a PropensityModel, logged as a model from code.

MLflow copies this file into the logged model and runs it when the model is loaded (that is
what `set_model` at the bottom is for: a model from code names its model object there), so
loading unpickles nothing. The model's files (LightGBM's text format and JSON) are the
artifact MLFLOW_ARTIFACT. Norrut's own code never imports this module (models/training.py
passes its path to MLflow).
"""

from pathlib import Path

import mlflow
import pandas as pd
from mlflow.pyfunc import PythonModel

from models.propensity import MLFLOW_ARTIFACT, PropensityModel


class PropensityPyfunc(PythonModel):
    """predict gives each row's calibrated probability of intent; `propensity_model` is the
    loaded PropensityModel for code that needs more (the scoring step's fast path)."""

    propensity_model: PropensityModel | None = None

    def load_context(self, context) -> None:
        self.propensity_model = PropensityModel.load(Path(context.artifacts[MLFLOW_ARTIFACT]))

    # Hinted as a frame: MLflow then checks the input against the logged signature only.
    def predict(self, context, model_input: pd.DataFrame, params=None):
        model = self.propensity_model
        return model.positive_probability(model_input[list(model.feature_names)])


mlflow.models.set_model(PropensityPyfunc())

"""Calibration of the model to observed moments (``agglomeration calibrate``; docs/CALIBRATION.md).

- :mod:`.targets`     the targets file: moments, parameters to estimate, validation before any run
- :mod:`.moments`     simulated moments from a result store's tables
- :mod:`.evaluate`    candidates run through the batch runner and result store
- :mod:`.msm`         the method of simulated moments: distance, replicate pilot, optuna search
- :mod:`.diagnostics` sweeps, Jacobian, sandwich standard errors, fit and identification tables
- :mod:`.outputs`     tables, figures and the calibrated scenario
- :mod:`.run`         :func:`calibrate`, the whole calibration
"""

from agglomeration.calibration.run import CalibrationResult, calibrate
from agglomeration.calibration.targets import Targets, load_targets

__all__ = ["CalibrationResult", "Targets", "calibrate", "load_targets"]

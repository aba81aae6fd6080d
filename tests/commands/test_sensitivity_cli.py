"""`agglomeration sensitivity`'s options agree with the Python functions it calls."""

from __future__ import annotations

import argparse
import inspect

from agglomeration.commands import sensitivity as command
from agglomeration.experiment import sensitivity as analysis


def test_the_command_and_the_functions_share_their_resample_defaults_and_limit():
    assert command.DEFAULT_RESAMPLES == analysis.DEFAULT_RESAMPLES
    assert command.MAX_RESAMPLES == analysis.MAX_RESAMPLES
    parser = argparse.ArgumentParser()
    command.add_arguments(parser)
    assert parser.get_default("resamples") == analysis.DEFAULT_RESAMPLES
    for function in (analysis.sensitivity, analysis.sobol_indices):
        default = inspect.signature(function).parameters["num_resamples"].default
        assert default == analysis.DEFAULT_RESAMPLES, function.__name__

"""Reporter functions for tests/experiment/test_reporters.py (an importable module, as users' are)."""


def electronics_firms(tables):
    """Firms of the components and electronics sectors at the end of the run."""
    regions = tables["regions"]
    return float(regions.loc[regions["sector"].isin(["components", "electronics"]), "firms"].sum())


def link_count(tables):
    return len(tables["links"])


def not_a_number(tables):
    return "many"


def infinite_at_the_end(tables):
    """0 on the initial state (so the pre-run check passes), infinity once the run has steps."""
    return float("inf") if len(tables["series"]) > 1 else 0.0

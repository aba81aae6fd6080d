"""Reporter functions for tests/experiment/test_reporters.py (an importable module, as users' are)."""


def electronics_firms(tables):
    """Firms of the components and electronics sectors at the end of the run."""
    regions = tables["regions"]
    return float(regions.loc[regions["sector"].isin(["components", "electronics"]), "firms"].sum())


def link_count(tables):
    return len(tables["links"])


def not_a_number(tables):
    return "many"

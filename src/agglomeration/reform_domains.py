"""Reform domains: the one place that defines them.

The replicable experience of the pilot free trade zones comes in five domains (State Council batches of
replicable reforms, 国发〔2014〕65号 onwards), each acting on its own cost in the model
(:mod:`agglomeration.behaviour.costs`):

- ``government_functions`` (transformation of government functions): the recurring administrative burden;
- ``investment_management`` (negative list, filing instead of approval): the entry cost and the approval
  delay;
- ``trade_facilitation``: the customs dwell hours of the region's trade with international gateways;
- ``financial_innovation`` (financial innovation and opening): entrants' discount (interest) rate;
- ``supervision`` (overall, ex-post supervision): the compliance part of the administrative burden.
"""

from __future__ import annotations

#: every reform domain, in display order (the columns of the reform pool)
DOMAINS: tuple[str, ...] = (
    "government_functions",
    "investment_management",
    "trade_facilitation",
    "financial_innovation",
    "supervision",
)
#: human-readable labels (tables, figures)
LABELS: dict[str, str] = {
    "government_functions": "transformation of government functions",
    "investment_management": "investment management",
    "trade_facilitation": "trade facilitation",
    "financial_innovation": "financial innovation and opening",
    "supervision": "overall supervision",
}
#: the cost each domain acts on
COST: dict[str, str] = {
    "government_functions": "administrative burden",
    "investment_management": "entry cost and approval delay",
    "trade_facilitation": "customs hours",
    "financial_innovation": "discount (interest) rate",
    "supervision": "administrative (compliance) burden",
}

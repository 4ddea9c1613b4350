"""City Mission Managers' portfolios: the seven components of the mission (DAY-NULM) divided
among a city's CMMs by the state letter's rule, which depends on how many CMMs the city has
(3, 2 or 1). The components' Hindi names are the letter's own."""

from __future__ import annotations

from typing import Final

#: The seven components: English, and the letter's Hindi.
COMPONENTS: Final[tuple[tuple[str, str], ...]] = (
    ("Social mobilisation & institution development", "सामाजिक गतिशीलता एवं संस्थागत विकास"),
    ("Shelters for urban homeless", "शहरी बेघरों हेतु आश्रय योजना"),
    ("Support to urban street vendors", "शहरी पथ विक्रेताओं हेतु सहायता योजना"),
    (
        "Employment through skills training & placement",
        "कौशल प्रशिक्षण एवं सेवायोजन के माध्यम से रोजगार",
    ),
    ("Self-employment programme", "स्वरोजगार कार्यक्रम"),
    ("Innovative & special projects", "अभिनवी एवं विशेष परियोजनाएं"),
    ("MIS and monitoring & evaluation", "एम०आई०एस० एण्ड एम०ई०"),
)

#: The letter's division (component positions) by the number of CMMs.
_RULE: Final[dict[int, tuple[tuple[int, ...], ...]]] = {
    1: ((0, 1, 2, 3, 4, 5, 6),),
    2: ((0, 1, 2, 5), (3, 4, 6)),
    3: ((0, 1, 2), (3, 4, 5), (6,)),
}


def default_portfolios(cmms: int) -> list[tuple[int, ...]]:
    """The components of each CMM by the letter's rule; CMMs beyond three get none by default
    (the CMMU assigns them), and no CMM gives no portfolio."""
    if cmms <= 0:
        return []
    rule = _RULE[min(cmms, 3)]
    return [*rule, *([()] * (cmms - len(rule)))]

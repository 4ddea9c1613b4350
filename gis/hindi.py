"""Every Hindi word the maps and sheets print, in the mission letter's own words.

The state mission's letter (``../shared/seeds/000_*.txt``) names the Community Organiser
"सामुदायिक आयोजक" (37 times; plural "सामुदायिक आयोजकों"), the City Mission Manager
"शहर मिशन प्रबन्धक", the work "क्षेत्र आवंटन", the meeting place a "सामुदायिक केन्द्र" used as the
"सम्पर्क स्थल" and the zones "जोन". The outputs use those words, from here only; the tests check
that no other word for a CO appears in a page or a PDF.
"""

from __future__ import annotations

#: The letter's words.
CO = "सामुदायिक आयोजक"
COS = "सामुदायिक आयोजकों"  # oblique plural: "…के घर", "…का क्षेत्र"
CMM = "शहर मिशन प्रबन्धक"
AREA_ALLOCATION = "क्षेत्र आवंटन"
AREA = "क्षेत्र"
COMMUNITY_CENTRE = "सामुदायिक केन्द्र"
CONTACT_POINT = "सम्पर्क स्थल"
ZONE = "जोन"
WARD = "वार्ड"
WARDS = "वार्ड"
POOR_HOUSEHOLDS = "गरीब परिवार"

#: Words the letter does not use for a CO; an output that prints one of them is wrong.
NOT_THE_LETTERS = ("संगठक", "संगठनकर्ता")

#: Headings of the outputs.
CITY_SHEET_TITLE = f"{COS} का {AREA_ALLOCATION} — {WARD} सीमाएँ"
CO_SHEET_TITLE = f"{CO} का {AREA} — {WARD} सूची"
MAP_LEGEND = f"{COS} के {AREA}"
HOME = f"{CO} का घर"
HOMES = f"{COS} के घर"

#: The work allocation order (``gis.allocation_order``): the letter's "वार्डवार कार्य आवंटन".
ORDER_TITLE = "वार्डवार कार्य आवंटन आदेश"
CONTACT = CONTACT_POINT
HOME_WARD = f"घर का {WARD}"
CO_PHONE_EMAIL = f"{CO} का फ़ोन, ई-मेल"
SIGNATURE = "हस्ताक्षर"
VERSION = "योजना संस्करण"
DATE = "दिनांक"
NAME = "नाम"

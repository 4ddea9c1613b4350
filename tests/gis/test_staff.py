"""The CMM list's reader: good rows read in order, every bad row named (line, field, value),
and the portfolios by the letter's rule or as listed."""

from __future__ import annotations

import pytest

from gis.errors import InputError
from gis.portfolios import default_portfolios
from gis.staff import Cmm, people, portfolios, read_cmms_csv
from tests.conftest import REPO


def test_the_example_reads_in_order_with_the_letters_rule() -> None:
    path = REPO / "examples" / "cmms.csv"
    cmms = read_cmms_csv(path.name, path.read_bytes())
    assert [c.cmm_id for c in cmms] == ["CMM-1", "CMM-2", "CMM-3"]
    assert cmms[0] == Cmm(
        "CMM-1", "Anita Singh / अनीता सिंह", "+91 522 400 1001", "cmm1@example.org", None
    )
    assert portfolios(cmms) == default_portfolios(3)
    assert people(cmms)[2] == "Farah Khan (CMM-3)\ncmm3@example.org"


def test_listed_components_replace_the_rule() -> None:
    text = "CMM_ID , Name,components\nA,Ann,7\nB,Bob,1;2 3\nC,Cid,\n"
    cmms = read_cmms_csv("x.csv", text.encode())
    assert portfolios(cmms) == [(6,), (0, 1, 2), ()]
    assert people(cmms)[2] == "Cid (C)\n—"


@pytest.mark.parametrize(
    ("text", "code", "where"),
    [
        (b"", "empty-file", None),
        (b"\xff\xfe,name\n", "not-utf8", None),
        (b"cmm_id,name\n", "no-cmms", None),
        (b"cmm_id,name,phone\nA,Ann,12\n", "bad-phone", ("line 2", "phone", "12")),
        (b"cmm_id,name,components\nA,Ann,0\n", "bad-component", ("line 2", "components", "0")),
        (b"cmm_id,name\nA,Ann\nA,Bob\n", "duplicate-cmm", ("line 3", "cmm_id", "A")),
        (b"cmm_id,name\nA,An\xe2\x80\xaen\n", "bad-text", ("line 2", "name", "An\u202en")),
    ],
)
def test_bad_files_are_refused_naming_where(
    text: bytes, code: str, where: tuple[str, str, str] | None
) -> None:
    with pytest.raises(InputError) as caught:
        read_cmms_csv("cmms.csv", text)
    issue = caught.value.issues[0]
    assert issue.code == code
    assert issue.file == "cmms.csv"
    if where is not None:
        line, field, value = where
        assert issue.message.startswith(f"{line}: ")
        assert (issue.field, issue.value) == (field, value)

"""The HTTP API's models for the city's City Mission Managers (issue 13: the city's staff)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class CmmIn(BaseModel):
    """A CMM as a client sends it; ``components`` are the letter's components 1–7. When no CMM of
    the list gives any (omitted or empty), the portfolios follow the letter's rule by the number of
    CMMs; when some do, those are the portfolios (a CMM without any: as the CMMU assigns)."""

    model_config = ConfigDict(extra="forbid")

    cmm_id: str = Field(min_length=1, max_length=100)
    name: str = Field(min_length=1, max_length=200)
    phone: str | None = Field(default=None, max_length=200)
    email: str | None = Field(default=None, max_length=200)
    components: list[int] | None = Field(default=None, max_length=7)


class CmmOne(BaseModel):
    """One CMM, its id in the path (``PUT /cities/{city}/cmms/{cmm_id}``): a new one joins the
    end of the list, one already listed (or retired) is changed in place and active."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"name": "Anita Singh", "phone": "+91 522 400 1001"}]},
    )

    name: str = Field(min_length=1, max_length=200)
    phone: str | None = Field(default=None, max_length=200)
    email: str | None = Field(default=None, max_length=200)
    components: list[int] | None = Field(default=None, max_length=7)


class CmmList(BaseModel):
    """The city's CMMs in order (CMM 1, 2, …): replaces the active ones; the others are retired."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "cmms": [
                        {"cmm_id": "CMM-1", "name": "Anita Singh", "phone": "+91 522 400 1001"},
                        {"cmm_id": "CMM-2", "name": "Rakesh Yadav", "email": "cmm2@example.org"},
                    ]
                }
            ]
        },
    )

    cmms: list[CmmIn] = Field(max_length=100)


class CmmOut(BaseModel):
    model_config = ConfigDict(extra="forbid")

    cmm_id: str
    name: str
    phone: str | None
    email: str | None
    #: 1–7, the letter's order; null: by the letter's rule.
    components: list[int] | None
    active: bool


class CmmReplace(BaseModel):
    model_config = ConfigDict(extra="forbid")

    city: str
    stored: int
    retired: int
    cmms: list[CmmOut]

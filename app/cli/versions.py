"""``wardplan versions``: a city's stored plan versions (lineage, who made each and why,
approval), and approval and its withdrawal as explicit acts, in the database of WARDPLAN_DB_URL."""

from __future__ import annotations

from typing import Annotated

import typer
from sqlalchemy.orm import Session

from app.cli.places import actor, in_db

versions_cli = typer.Typer(
    name="versions",
    help="A city's plan versions: list with lineage and approvals; approve; withdraw an approval.",
    no_args_is_help=True,
)

CityArg = Annotated[str, typer.Argument(help="The city's code, e.g. lucknow.")]
PlanArg = Annotated[int, typer.Argument(help="The plan's id (GET /cities/{city}/versions).")]


def _lines(session: Session, city_code: str) -> list[str]:
    from app.services import plan_versions
    from app.services.cities import get_city
    from app.services.plans import approval_mark

    out = ["version\tplan\tlineage\tstatus\tcheck\tapproval\tmade by\tnote"]
    for e in plan_versions.history(session, get_city(session, city_code)):
        passed = e.plan.report.get("check", {}).get("passed", False)
        acts = ", ".join(f"{a.action} {a.at.date().isoformat()} {a.actor}" for a in e.acts)
        approval = approval_mark(e.plan) + (f" ({acts})" if acts else "")
        out.append(
            "\t".join(
                [
                    str(e.version.version),
                    str(e.plan.id),
                    plan_versions.lineage_text(e),
                    e.plan.status,
                    "passed" if passed else "FAILED",
                    approval,
                    e.plan.created_by,
                    e.version.note or "",
                ]
            )
        )
    return out


@versions_cli.command("list")
def list_versions(city: CityArg) -> None:
    """Every plan of the city, oldest first, with its lineage and approval history."""
    for line in in_db(lambda s: _lines(s, city)):
        typer.echo(line)


@versions_cli.command("approve")
def approve(city: CityArg, plan: PlanArg) -> None:
    """Approve a plan that passed its check (the approval in force before is superseded)."""
    from app.services import plans

    mark = in_db(
        lambda s: plans.approval_mark(plans.approve_plan(s, city, plan, actor=actor()).plan)
    )
    typer.echo(f"plan {plan}: {mark}")


@versions_cli.command("withdraw")
def withdraw(
    city: CityArg,
    plan: PlanArg,
    reason: Annotated[str, typer.Option("--reason", help="Why, for the record.")],
) -> None:
    """Withdraw the plan's approval (kept in its history with the reason)."""
    from app.services import plan_versions, plans

    def work(session: Session) -> None:
        stored = plans.get_plan(session, city, plan)
        plan_versions.withdraw(session, stored.city, stored.plan, actor=actor(), reason=reason)

    in_db(work)
    typer.echo(f"plan {plan}: approval withdrawn")

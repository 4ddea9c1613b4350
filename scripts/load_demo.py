"""Load the Lucknow demo into the database of app.core.settings (WARDPLAN_DB_URL), issue an admin API
key for it, and print the plan id and the key (``plan N: …`` and ``key wp_…`` lines), and, when
the link secret is set, signed links to its map and to its map in edit mode (``link …``, ``edit …``).

Usage: uv run python scripts/load_demo.py [DATA_DIR] [TIME_LIMIT_SECONDS]
(apply the migrations first: uv run alembic upgrade head)
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path

from app.core.settings import get_settings
from app.db.session import session_scope
from app.services import keys, links
from app.services.demo import load_demo


def main(argv: list[str]) -> int:
    data = Path(argv[1]) if len(argv) > 1 else Path("../shared/data")
    time_limit = float(argv[2]) if len(argv) > 2 else 120.0
    with session_scope() as session:
        plan_id = load_demo(session, data, time_limit=time_limit)
        # A new key each run (names are unique); `wardplan keys revoke NAME` retires old ones.
        name = "demo-admin-" + datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
        token = keys.issue(session, name, keys.Role.ADMIN).token
    sys.stdout.write(f"plan {plan_id}: GET /cities/lucknow/plans/{plan_id}/map\n")
    sys.stdout.write(f"key {token}\n")
    secret = get_settings().api.link_secret
    if secret is not None:  # a map link for the browser, signed as the server will check it
        link = links.sign(
            secret.get_secret_value().encode(),
            "lucknow",
            plan_id,
            ttl_s=get_settings().api.link_ttl_s,
            exact_homes=True,
        )
        sys.stdout.write(f"link {link.url}\n")
        # The same map in edit mode, signed for the demo's key (what POST …/edit-link answers).
        edit = links.sign_edit(
            secret.get_secret_value().encode(),
            "lucknow",
            plan_id,
            actor=name,
            ttl_s=get_settings().api.link_ttl_s,
        )
        sys.stdout.write(f"edit {edit.url}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))

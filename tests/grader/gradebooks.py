"""Reading any nbgrader gradebook (SQLite or PostgreSQL) by URL, for tests and benchmarks."""

from __future__ import annotations

__all__ = ["cell_scores", "row_counts", "duplicated_rows"]

_SCORES = (
    "SELECT a.name, st.id, gc.name, g.auto_score, g.manual_score "
    "FROM grade g "
    "JOIN submitted_notebook sn ON g.notebook_id = sn.id "
    "JOIN submitted_assignment sa ON sn.assignment_id = sa.id "
    "JOIN assignment a ON sa.assignment_id = a.id "
    "JOIN student st ON sa.student_id = st.id "
    "JOIN base_cell gc ON g.cell_id = gc.id")


def _rows(db_url: str, query: str) -> list[tuple]:
    from sqlalchemy import create_engine, text

    engine = create_engine(db_url)
    try:
        with engine.connect() as con:
            return [tuple(r) for r in con.execute(text(query)).fetchall()]
    finally:
        engine.dispose()


def cell_scores(db_url: str) -> dict[tuple[str, str, str], float | None]:
    """Every graded cell's automatic score: (assignment, student, cell) -> points."""
    return {(a, s, c): auto for a, s, c, auto, _ in _rows(db_url, _SCORES)}


def row_counts(db_url: str) -> dict[tuple[str, str], int]:
    """Submission rows per (assignment, student): 1 each when every student was graded once."""
    rows = _rows(db_url, "SELECT a.name, st.id FROM submitted_assignment sa "
                         "JOIN assignment a ON sa.assignment_id = a.id "
                         "JOIN student st ON sa.student_id = st.id")
    out: dict[tuple[str, str], int] = {}
    for key in rows:
        out[key] = out.get(key, 0) + 1
    return out


def duplicated_rows(db_url: str) -> list[tuple]:
    """(table, key, count) for any notebook or cell recorded twice for one submission."""
    found = []
    for table, key in (("submitted_notebook", "assignment_id, notebook_id"),
                       ("grade", "notebook_id, cell_id"), ("comment", "notebook_id, cell_id")):
        for row in _rows(db_url, f"SELECT {key}, count(*) FROM {table} GROUP BY {key} "
                                 "HAVING count(*) > 1"):
            found.append((table, *row))
    return found

"""Launch and download buttons open the student version of each page, at a path the public
repository has.

The repository and launch buttons point at ``repository.url``, the public repository that
``make student-repo`` writes (tools/student_repo.py), not at this one. Binder, JupyterHub and Colab
links encode a path in it; each must be the page's own source file, exist in the student
distribution (built here from the checkout) with the same cells, and never be an instructor file.
The download button must serve that same file (for assignments: the student release). The
instructors' guide to grading is not a page of the public site at all.
"""

from __future__ import annotations

import json
import posixpath
import sys
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
import yaml
from sitepages import (
    REPO,
    SITE_DIR,
    TOC_FILES,
    elements,
    html_text,
    links_with_class,
    page_path,
    site_missing_reason,
    source_of,
)

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tools"))
import student_repo  # noqa: E402

pytestmark = pytest.mark.browser

CONFIG = yaml.safe_load((REPO / "_config.yml").read_text())
REPO_URL = CONFIG["repository"]["url"].rstrip("/")
BRANCH = CONFIG["repository"].get("branch", "main")
ORG, NAME = urlsplit(REPO_URL).path.strip("/").split("/")[:2]
LAUNCH = CONFIG.get("launch_buttons", {})
NOTEBOOK_DOCS = [d for d in TOC_FILES if source_of(d).suffix == ".ipynb"]
INSTRUCTOR_ONLY = ("solutions/", "grader/", "tests/", "benchmarks/", "tools/")


@pytest.fixture(autouse=True)
def _site():
    reason = site_missing_reason()
    if reason:
        pytest.fail(reason)


@pytest.fixture(scope="module")
def distribution(tmp_path_factory) -> Path:
    """The student distribution of the checkout the site was built from."""
    dest = tmp_path_factory.mktemp("distribution") / NAME
    student_repo.write(dest, REPO)
    return dest


def in_distribution(distribution: Path, path: str, source: Path) -> None:
    """``path`` is a public file of the distribution, the same as ``source`` here."""
    assert not path.startswith(INSTRUCTOR_ONLY), f"{path} is an instructors' file"
    public = distribution / path
    assert public.is_file(), f"{path} is not in the student repository"
    assert same_page(public, source), f"{path} differs from {source}"


def same_page(copy: Path, source: Path) -> bool:
    """The same cells for a notebook (outputs aside), the same text for any other page."""
    if source.suffix == ".ipynb":
        return cells(copy) == cells(source)
    return copy.read_text() == source.read_text()


def launch_links(doc: str) -> dict[str, str]:
    """{"Binder": href, ...} from the launch menu (its items are titled "Launch on <service>")."""
    return {a["title"].removeprefix("Launch on "): a["href"]
            for a in elements(page_path(doc)).anchors
            if a.get("title", "").startswith("Launch on ")}


def path_in_link(kind: str, href: str) -> str:
    """The repository path a launch link opens, after checking the link's host and repository."""
    parts = urlsplit(href)
    query = parse_qs(parts.query)
    if kind == "Binder":
        assert href.startswith(LAUNCH["binderhub_url"].rstrip("/") + "/v2/gh/"), href
        assert parts.path.endswith(f"/v2/gh/{ORG}/{NAME}/{BRANCH}"), href
        urlpath = query["urlpath"][0]
        assert urlpath.startswith("lab/tree/"), f"{href}: does not open JupyterLab"
        return unquote(urlpath.removeprefix("lab/tree/"))
    if kind == "JupyterHub":
        hub = LAUNCH["jupyterhub_url"].rstrip("/")
        assert href.startswith(hub + "/hub/user-redirect/git-pull"), href
        assert query["repo"][0].rstrip("/") == REPO_URL, f"{href}: clones another repository"
        assert query["branch"][0] == BRANCH, href
        urlpath = query["urlpath"][0]
        prefix = f"lab/tree/{NAME}/"
        assert urlpath.startswith(prefix), f"{href}: urlpath is not under the clone {NAME}/"
        return unquote(urlpath.removeprefix(prefix))
    if kind == "Colab":
        assert href.startswith(LAUNCH["colab_url"].rstrip("/") + "/github/"), href
        prefix = f"/github/{ORG}/{NAME}/blob/{BRANCH}/"
        assert parts.path.startswith(prefix), href
        return unquote(parts.path.removeprefix(prefix))
    raise AssertionError(f"unexpected launch button {kind!r}: {href}")


def cells(path) -> list[tuple[str, str]]:
    return [(c["cell_type"], "".join(c["source"])) for c in json.loads(path.read_text())["cells"]]


@pytest.mark.parametrize("doc", NOTEBOOK_DOCS)
def test_launch_buttons_open_this_page_in_the_repository(doc, distribution):
    expected = {"Binder": "binderhub_url", "JupyterHub": "jupyterhub_url", "Colab": "colab_url"}
    expected = {label for label, key in expected.items() if LAUNCH.get(key)}
    links = launch_links(doc)
    assert set(links) == expected, f"{doc}: launch buttons {sorted(links)}, expected {expected}"
    source = source_of(doc).relative_to(REPO).as_posix()
    for kind, href in links.items():
        path = path_in_link(kind, href)
        assert path == source, f"{doc}: {kind} opens {path}, not the page's source {source}"
        in_distribution(distribution, path, source_of(doc))


@pytest.mark.parametrize("doc", TOC_FILES)
def test_download_button_serves_the_page_source(doc, distribution):
    hrefs = [a["href"] for a in links_with_class(page_path(doc), "btn-download-source-button")]
    assert len(hrefs) == 1, f"{doc}: expected one source download button, found {hrefs}"
    target = posixpath.normpath(posixpath.join(posixpath.dirname(page_path(doc)), hrefs[0]))
    source = source_of(doc)
    assert target == f"_sources/{source.relative_to(REPO).as_posix()}", target
    served = SITE_DIR / target
    assert served.is_file(), f"{doc}: the download button points at missing {target}"
    assert same_page(served, source), f"{doc}: {target} differs from {source}"
    in_distribution(distribution, source.relative_to(REPO).as_posix(), source)


def test_the_public_site_has_no_instructors_page():
    # The instructors' guide describes the grader's defences: it is read in the instructors'
    # repository, never published (not in _toc.yml, so not built, not searchable, not linked).
    toc = yaml.safe_load((REPO / "_toc.yml").read_text())
    assert not student_repo.instructor_pages(toc), "an instructors' page is in _toc.yml"
    assert (REPO / "book" / "appendix_instructors.md").is_file()
    leftovers = [p.relative_to(SITE_DIR).as_posix() for p in SITE_DIR.rglob("*instructor*")]
    assert not leftovers, f"instructors' files on the site: {leftovers}"
    linking = [d for d in TOC_FILES if "appendix_instructors" in (SITE_DIR / page_path(d))
               .read_text(encoding="utf-8")]
    assert not linking, f"pages linking to the instructors' guide: {linking}"


def test_repository_button_points_at_the_configured_repository():
    for doc in TOC_FILES:
        hrefs = {a["href"].rstrip("/") for a in
                 links_with_class(page_path(doc), "btn-source-repository-button")}
        assert hrefs == {REPO_URL}, f"{doc}: repository button {hrefs}, expected {REPO_URL}"


ASSIGNMENTS = [d for d in NOTEBOOK_DOCS if d.startswith("exercises/")]


@pytest.mark.parametrize("doc", ASSIGNMENTS)
def test_assignment_pages_are_the_student_release(doc):
    release = source_of(doc)
    solution = REPO / "solutions" / release.relative_to(REPO / "exercises")
    assert solution.is_file(), f"{doc}: no instructor source {solution} for this release"
    student, instructor = cells(release), cells(solution)
    assert len(student) == len(instructor), f"{doc}: release and source have different cells"
    answers = [i for i, c in enumerate(json.loads(release.read_text())["cells"])
               if c["metadata"].get("nbgrader", {}).get("solution")]
    assert answers, f"{doc}: no nbgrader answer cell: is this an assignment?"
    for i in answers:
        assert student[i] != instructor[i], f"{doc}: answer cell {i} holds the solution"
        assert "YOUR CODE HERE" in student[i][1] or "YOUR ANSWER HERE" in student[i][1], (
            f"{doc}: answer cell {i} has no stub: {student[i][1][:200]!r}")
    text = "\n".join(t for _, t in student)
    assert "BEGIN SOLUTION" not in text and "HIDDEN TESTS" not in text
    # and the page on the site shows the stubs, not the answers
    page_text = html_text((SITE_DIR / page_path(doc)).read_text(encoding="utf-8"))
    assert "YOUR CODE HERE" in page_text, f"{doc}: the page does not show the answer stubs"


def test_assignment_launch_and_download_targets_are_release_files():
    assert ASSIGNMENTS, "no assignment (exercises/...) page in _toc.yml"
    for doc in ASSIGNMENTS:
        for kind, href in launch_links(doc).items():
            assert path_in_link(kind, href).startswith("exercises/"), f"{doc}: {kind}: {href}"

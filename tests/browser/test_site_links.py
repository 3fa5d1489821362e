"""Internal links and anchors of the built site resolve, without a network.

Starting from the home page, every page reachable through an internal ``<a href>`` is crawled; every
internal link must name a file that exists, and its ``#fragment`` an id in the target page. Local
assets (images, scripts, style sheets) must exist too.
"""

from __future__ import annotations

import posixpath
from urllib.parse import unquote, urlsplit

import pytest
from sitepages import SITE_DIR, TOC_FILES, elements, page_path, site_missing_reason

pytestmark = pytest.mark.browser

def internal_target(base: str, href: str) -> tuple[str, str] | None:
    """(site-relative path, fragment) of an internal link from page ``base``; None if external."""
    parts = urlsplit(href)
    if parts.scheme or parts.netloc or href.startswith(("mailto:", "javascript:")):
        return None
    path = unquote(parts.path)
    if not path:
        target = base
    else:
        target = posixpath.normpath(posixpath.join(posixpath.dirname(base), path))
        if path.endswith("/"):
            target = posixpath.join(target, "index.html")
    return target, unquote(parts.fragment)


@pytest.fixture(scope="module")
def crawl():
    reason = site_missing_reason()
    if reason:
        pytest.fail(reason)
    start = ["index.html"] + [page_path(doc) for doc in TOC_FILES]
    seen, queue, links, assets = set(), list(start), [], []
    while queue:
        rel = queue.pop()
        if rel in seen or not (SITE_DIR / rel).is_file():
            continue
        seen.add(rel)
        page = elements(rel)
        for a in page.anchors:
            target = internal_target(rel, a["href"])
            if target is None:
                continue
            links.append((rel, a["href"], *target))
            if target[0].endswith(".html") and target[0] not in seen:
                queue.append(target[0])
        for ref in page.assets:
            target = internal_target(rel, ref)
            if target is not None:
                assets.append((rel, ref, target[0]))
    return seen, links, assets


def test_crawl_reaches_every_page_of_the_toc(crawl):
    seen, links, _ = crawl
    assert len(links) > 10 * len(TOC_FILES), f"only {len(links)} internal links found"
    missing = [page_path(d) for d in TOC_FILES if page_path(d) not in seen]
    assert not missing, f"pages of _toc.yml missing from the site: {missing}"


def test_internal_links_and_anchors_resolve(crawl):
    _, links, _ = crawl
    broken = []
    for page, href, target, fragment in links:
        if target.startswith("..") or not (SITE_DIR / target).exists():
            broken.append(f"{page}: {href} -> {target} does not exist")
        elif fragment and target.endswith(".html") and fragment not in elements(target).ids:
            broken.append(f"{page}: {href} -> no id {fragment!r} in {target}")
    assert not broken, f"{len(broken)} broken internal links:\n" + "\n".join(sorted(set(broken)))


def test_local_assets_exist(crawl):
    _, _, assets = crawl
    missing = sorted({f"{page}: {ref}" for page, ref, target in assets
                      if target.startswith("..") or not (SITE_DIR / target).is_file()})
    assert not missing, "pages refer to files the site does not have:\n" + "\n".join(missing)

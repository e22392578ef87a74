"""RSS 2.0 (https://www.rssboard.org/rss-specification)."""

from __future__ import annotations

from lxml import etree

from aggregator.models import FeedPage
from aggregator.publish.render import common, xmlfeed
from aggregator.version import __version__


def render_rss(page: FeedPage) -> bytes:
    fg = xmlfeed.feed_generator(page)
    fg.load_extension("dc", atom=False, rss=True)
    fg.description(common.text_or(page.description or page.title, page.slug))
    fg.link(rel="self", type=common.media_type("rss"), href=page.self_url)
    # feedgen makes the channel <link> the last link given, whatever its rel: the page.
    fg.link(rel="alternate", type="text/html", href=page.html_url)
    fg.generator(f"{common.GENERATOR} {__version__}")
    fg.docs("https://www.rssboard.org/rss-specification")
    for entry in page.entries:
        fe = fg.add_entry(order="append")
        fe.title(common.text_or(entry.title, "(untitled)"))
        if entry.link:
            fe.link(href=entry.link)
        body = common.entry_body_html(entry)
        fe.content(body)  # content:encoded
        fe.description(entry.summary_html or body)
        fe.guid(common.entry_urn(entry.entry_id), permalink=False)
        fe.pubDate(common.utc(entry.published))
        if entry.author:  # RSS <author> must be an e-mail address; Dublin Core takes a name
            fe.dc.dc_creator(entry.author)
        for term in entry.categories:
            fe.category(term=term)
    with xmlfeed.RSS_LOCK:
        document = fg.rss_str()
    root = etree.fromstring(document, xmlfeed.PARSER)
    _fix_rss(root, page)
    return xmlfeed.serialize(root)


def _fix_rss(root: etree._Element, page: FeedPage) -> None:
    # feedgen writes only the first rel="self" atom:link; RFC 5005 paging goes after it.
    self_link = root.find(f"channel/{{{common.ATOM_NS}}}link[@rel='self']")
    if page.hub_url:  # WebSub: the hub beside the self link, as in Atom
        self_link.addnext(etree.Element(f"{{{common.ATOM_NS}}}link", rel="hub",
                                        href=page.hub_url))
    for rel, url in reversed(common.paging_links(page)):
        self_link.addnext(etree.Element(f"{{{common.ATOM_NS}}}link", rel=rel,
                                        type=common.media_type("rss"), href=url))
    # formatRFC2822 writes %z (+0000); RFC 822's GMT, as this feed has always written it.
    xmlfeed.normalise_dates(root, ("lastBuildDate", "pubDate"), " +0000", " GMT")



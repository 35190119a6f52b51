"""Search core on SQLite and PostgreSQL: words, stems, filters, story collapse, hostile input."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import delete, select, text
from web_seed import XSS_TITLE, seed_archive

from chainwatch import search as search_mod
from chainwatch.search import SearchError, SearchQuery, index_article, reindex_all, search
from chainwatch.segment import parse_query, segment, stem
from storage.models import Article


@pytest.fixture
def seeded(any_db):
    return any_db, seed_archive(any_db, hostile=True)


@pytest.fixture
def seeded_pg(pg_db):
    """The same archive on PostgreSQL only, for its own retrieval roads."""
    return pg_db, seed_archive(pg_db, hostile=True)


def _titles(result) -> list[str]:
    return [h.title for h in result.hits]


def test_stemmer_and_segmentation() -> None:
    assert stem("bearings") == "bearing" and stem("policies") == "policy" and stem("bus") == "bus"
    assert "轴承" in segment("洛阳轴承产业联盟").split()
    assert parse_query("軸承") == [["轴承"]]  # traditional query, simplified index
    assert parse_query('"产业 联盟"') == [["产业", "联盟"]]


def test_chinese_word_finds_articles_one_per_story(seeded) -> None:
    db, ids = seeded
    result = search(db, SearchQuery(q="轴承"))
    titles = _titles(result)
    assert "孟津区出台轴承产业高质量发展实施方案" in titles
    story_hits = [h for h in result.hits if h.story_id == ids.stories["alliance"]]
    assert len(story_hits) == 1  # the repost is folded into its story
    assert [a.source_name for a in story_hits[0].also] in (["河南省工业和信息化厅"], ["洛阳日报"])
    assert any(hit for part, hit in story_hits[0].snippet if part == "轴承")


def test_english_stem_and_traditional(seeded) -> None:
    db, _ids = seeded
    assert "Luoyang sets target for bearings output" in _titles(search(db, SearchQuery(q="bearing")))
    assert "Luoyang sets target for bearings output" in _titles(search(db, SearchQuery(q="Bearings")))
    trad = search(db, SearchQuery(q="新能源汽车"))
    assert "無錫市推行新能源汽車產業鏈鏈長制" in _titles(trad)
    hit = next(h for h in trad.hits if h.title.startswith("無錫"))
    marked = "".join(part for part, on in hit.snippet if on)
    assert "新能源" in marked and "汽車" in marked  # highlighted in the original traditional text


def test_region_filter_includes_descendants_by_code_or_name(seeded) -> None:
    db, _ids = seeded
    for region in ("410000", "41", "河南", "河南省"):
        result = search(db, SearchQuery(q="轴承", region=region))
        assert "孟津区出台轴承产业高质量发展实施方案" in _titles(result), region
        assert result.region_name == "河南省"
    assert _titles(search(db, SearchQuery(q="轴承", region="330000"))) == []
    unknown = search(db, SearchQuery(q="轴承", region="火星"))
    assert unknown.hits == [] and unknown.warnings


def test_filters_chain_event_source_language_dates(seeded) -> None:
    db, _ = seeded
    assert {h.title for h in search(db, SearchQuery(chain="automotive")).hits} == {
        "無錫市推行新能源汽車產業鏈鏈長制", "深圳新能源汽车产业链再添新成员"}
    assert _titles(search(db, SearchQuery(chain="semiconductors"))) == ["宁波集成电路产业联盟揭牌"]
    alliances = search(db, SearchQuery(event_type="alliance", region="河南", since=date(2025, 10, 1)))
    assert _titles(alliances) in (["洛阳成立轴承产业联盟 力争2025年产值突破500亿元"], ["洛阳轴承产业联盟成立"])
    assert _titles(search(db, SearchQuery(source="china-daily"))) == ["Luoyang sets target for bearings output"]
    assert _titles(search(db, SearchQuery(language="en"))) == ["Luoyang sets target for bearings output"]
    old = search(db, SearchQuery(until=date(2024, 12, 31)))
    assert _titles(old) == ["郑州市机器人产业发展目标发布"]
    with pytest.raises(SearchError):
        search(db, SearchQuery(event_type="nonsense"))
    with pytest.raises(SearchError):
        search(db, SearchQuery(since=date(2025, 2, 1), until=date(2025, 1, 1)))


def test_sort_by_date_and_facets(seeded) -> None:
    db, _ = seeded
    result = search(db, SearchQuery(q="轴承", sort="date"))
    dates = [h.published for h in result.hits]
    assert dates == sorted(dates, reverse=True)
    regions = {f.value: f.count for f in result.facets["region"]}
    assert regions["410000"] >= 3
    assert {f.value for f in result.facets["event_type"]} >= {"alliance", "target"}
    drill = search(db, SearchQuery(q="轴承", region="410000"))
    assert {f.value for f in drill.facets["region"]} <= {"410300", "410100"}


def test_pagination(seeded) -> None:
    db, _ = seeded
    first = search(db, SearchQuery(per_page=3))
    second = search(db, SearchQuery(per_page=3, page=2))
    assert first.pages >= 3 and len(first.hits) == 3
    assert not {h.article_id for h in first.hits} & {h.article_id for h in second.hits}
    beyond = search(db, SearchQuery(per_page=3, page=999))
    assert beyond.page == beyond.pages


@pytest.mark.parametrize("hostile", ["' OR 1=1 --", '"', "*", '"轴承', "轴承*", "NEAR(a b)", "a:b", "tags : zzr410000",
                                     "zzr410000", "x" * 10_000, "轴承 " * 3000, "<script>alert(1)</script>",
                                     "\\", "'; DROP TABLE articles; --", "\x00", "(", "AND OR NOT", "^轴承"])
def test_hostile_queries_are_plain_text(seeded, hostile: str) -> None:
    db, _ = seeded
    result = search(db, SearchQuery(q=hostile, region=hostile[:60], chain=hostile[:60], source=hostile[:60],
                                    language=hostile[:16]))
    assert isinstance(result.hits, list)
    plain = search(db, SearchQuery(q=hostile))
    assert isinstance(plain.hits, list)
    if hostile == "zzr410000" or hostile.startswith("tags"):
        assert plain.hits == []  # filter tokens cannot be reached from the query box
    with db.session() as s:
        assert s.scalar(select(Article.id).limit(1)) is not None


def test_markup_title_is_found_as_text(seeded) -> None:
    db, _ = seeded
    result = search(db, SearchQuery(q="script"))
    assert XSS_TITLE in _titles(result)


def test_index_follows_changes_and_deletes(seeded) -> None:
    db, ids = seeded
    with db.session() as s:
        art = s.get(Article, ids.articles["ningbo-semi"])
        art.title = "宁波光伏产业联盟揭牌"
        index_article(s, art)
        index_article(s, art)  # idempotent
    assert _titles(search(db, SearchQuery(q="光伏"))) == ["宁波光伏产业联盟揭牌"]
    with db.session() as s:
        s.execute(delete(Article).where(Article.id == ids.articles["mengjin"]))
    assert "孟津区出台轴承产业高质量发展实施方案" not in _titles(search(db, SearchQuery(q="轴承")))
    with db.session() as s:
        assert s.scalar(text("SELECT count(*) FROM search_docs WHERE article_id = :a"),
                        {"a": ids.articles["mengjin"]}) == 0
        if db.is_sqlite:
            assert s.scalar(text("SELECT count(*) FROM search_fts")) == s.scalar(
                text("SELECT count(*) FROM search_docs"))


def test_reindex_all(seeded) -> None:
    db, _ = seeded
    before = _titles(search(db, SearchQuery(q="轴承", sort="date")))
    with db.session() as s:
        count = s.scalar(select(Article.id).order_by(Article.id.desc()).limit(1))
    assert reindex_all(db, batch=3) == count
    assert _titles(search(db, SearchQuery(q="轴承", sort="date"))) == before


def test_broad_query_ranks_newest_window(seeded, monkeypatch) -> None:
    db, _ = seeded
    monkeypatch.setattr(search_mod, "RANK_ALL", 2)
    monkeypatch.setattr(search_mod, "COUNT_CAP", 3)
    monkeypatch.setattr(search_mod, "BM25_MAX_DF", 0)  # SQLite: every term counts as common
    result = search(db, SearchQuery(q="轴承"))
    assert result.total_capped and result.total == 3
    assert len(result.hits) >= 1
    # Headline matches rank first, whatever the date.
    assert "轴承" in result.hits[0].title
    monkeypatch.setattr(search_mod, "RANK_WINDOW", 1)
    titles = _titles(search(db, SearchQuery(q="轴承", region="河南")))
    assert "孟津区出台轴承产业高质量发展实施方案" in titles  # older, but about bearings in its headline
    assert _titles(search(db, SearchQuery(q="bearings"))) == ["Luoyang sets target for bearings output"]


@pytest.mark.parametrize("query", [
    SearchQuery(q="轴承", sort="date"), SearchQuery(q="轴承"), SearchQuery(region="河南", sort="date"),
    SearchQuery(q="产业", since=date(2025, 1, 1), sort="date"), SearchQuery(until=date(2026, 6, 30)),
    SearchQuery(q="产业", until=date(2026, 6, 30))])
def test_postgres_slices_and_walk_match_the_full_sort(seeded_pg, monkeypatch, query) -> None:
    """The date-sliced retrieval (mid-density matches) and the doc_key walk (dense ones) return
    what sorting every match returns."""
    db, _ = seeded_pg
    with db.session() as s:
        s.execute(text("ANALYZE search_docs"))
    search_mod._pg_stats_cache.clear()
    monkeypatch.setattr(search_mod, "WINDOW", 3)
    monkeypatch.setattr(search_mod, "RANK_WINDOW", 3)
    monkeypatch.setattr(search_mod, "RANK_ALL", 0)  # relevance over the newest RANK_WINDOW, both ways

    def run() -> tuple[list[int], list[int], int, bool]:
        result = search(db, SearchQuery(**{k: v for k, v in vars(query).items()}))
        regions = sorted(f.count for f in result.facets["region"])
        return [h.article_id for h in result.hits], regions, result.total, result.total_capped

    expected = run()
    monkeypatch.setattr(search_mod, "COUNT_CAP", 1)  # every query counts as broad...
    monkeypatch.setattr(search_mod, "PG_WALK_FACTOR", 1e12)  # ...none as dense...
    monkeypatch.setattr(search_mod, "PG_HEAP_VS_BTREE", 0)  # ...so it is sliced,
    monkeypatch.setattr(search_mod, "PG_BUCKET_TRIES", 50)
    ids, facets, total, _ = expected
    for trust in (0, 2):  # sized by PostgreSQL's estimate, counting as they go / after a capped count
        with monkeypatch.context() as m:  # in slices of about one document
            m.setattr(search_mod, "_key_below", lambda bounds, key, docs, n: _one_below(db, key))
            m.setattr(search_mod, "PG_TRUST_ESTIMATE", trust)
            assert run() == (ids, facets, min(total, 1), total > 1)
    monkeypatch.setattr(search_mod, "PG_WALK_FACTOR", 0)  # every match counts as dense: the doc_key walk
    assert run() == (ids, facets, min(total, 1), total > 1)


def _one_below(db, key):
    with db.session() as s:
        return s.scalar(text("SELECT max(doc_key) FROM search_docs WHERE doc_key < :k"),
                        {"k": key if key is not None else 2**62})


def test_postgres_few_matches_are_all_ranked(seeded_pg, monkeypatch) -> None:
    """Up to RANK_ALL matches are ranked all, not just the newest window, whichever road finds them."""
    db, _ = seeded_pg
    monkeypatch.setattr(search_mod, "WINDOW", 2)
    monkeypatch.setattr(search_mod, "RANK_WINDOW", 2)
    monkeypatch.setattr(search_mod, "PG_WALK_FACTOR", 1e12)
    with db.session() as s:
        expected = [r[0] for r in s.execute(text(
            "SELECT article_id FROM search_docs WHERE tsv @@ to_tsquery('simple', '轴承') "
            "ORDER BY ts_rank(tsv, to_tsquery('simple', '轴承')) DESC, doc_key DESC LIMIT 2"))]
    for trust in (0, 2):
        monkeypatch.setattr(search_mod, "PG_TRUST_ESTIMATE", trust)
        with db.session() as s:
            plan = search_mod._plan(s, SearchQuery(q="轴承"), [])
            candidates, total = search_mod._retrieve_postgres(s, plan, "relevance")
        assert total > 2 and [c.article_id for c in candidates] == expected

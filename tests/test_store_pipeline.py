"""The store pipeline's group commit: several articles per transaction, each still whole or not at all."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

import pytest
from scrapy.exceptions import DropItem
from scrapy.utils.test import get_crawler
from sqlalchemy import func, select

from chainwatch import dedupe
from chainwatch.archive import PageRecord, StoreResult
from crawler.items import PageItem
from crawler.pipelines import StorePipeline
from crawler.resources import Resources
from storage.models import Article, LshBand, Source, Story


def _item(source_id: int, n: int) -> PageItem:
    url = f"http://127.0.0.1/xwdt/t{n}.html"
    text = f"第{n}篇。" + "".join(f"苏州市第{n}号产业项目的第{k}段说明文字，内容各不相同。" for k in range(n, n + 8))
    record = PageRecord(source_id=source_id, url=url, final_url=url, title=f"标题{n}", text=text,
                        text_normalized=text, language="zh", published=None)
    item = PageItem(source_id=source_id, source_key="demo", url=url, final_url=url, body=b"", content_type=None)
    item.extracted = record
    item.signature = dedupe.signature(text, "zh")
    return item


@pytest.fixture
def pipeline(config, db):
    with db.session() as s:
        src = Source(key="demo", name="Demo", home_url="http://127.0.0.1/")
        s.add(src)
        s.flush()
        source_id = src.id
    crawler = get_crawler(settings_dict={"CHAINWATCH_DATABASE_URL": db.url})
    res = Resources(config=config, db=db, db_executor=ThreadPoolExecutor(1), cpu_executor=ThreadPoolExecutor(1))
    crawler._chainwatch_resources = res
    pipe = StorePipeline(crawler)
    yield pipe, source_id
    res.cpu_executor.shutdown()
    res.db_executor.shutdown()


def _counts(db) -> tuple[int, int, int]:
    with db.session() as s:
        return (s.scalar(select(func.count()).select_from(Article)),
                s.scalar(select(func.count()).select_from(Story)),
                s.scalar(select(func.count()).select_from(LshBand)))


def test_a_group_is_one_transaction(pipeline, db) -> None:
    pipe, source_id = pipeline
    results = pipe.store_batch([_item(source_id, n) for n in range(1, 6)])
    assert [r.status for r in results] == ["new"] * 5
    articles, stories, bands = _counts(db)
    assert (articles, stories) == (5, 5) and bands >= 5 * dedupe.BANDS


def test_one_bad_article_does_not_take_the_group_with_it(pipeline, db) -> None:
    pipe, source_id = pipeline
    items = [_item(source_id, n) for n in range(1, 4)]
    items[1].analysis = object()  # save_analysis fails on it, after its article row was flushed
    results = pipe.store_batch(items)
    assert isinstance(results[0], StoreResult) and isinstance(results[2], StoreResult)
    assert isinstance(results[1], AttributeError)
    assert _counts(db)[:2] == (2, 2)  # nothing of the bad article: no row, no story
    with db.session() as s:
        urls = set(s.scalars(select(Article.url)))
    assert urls == {items[0].url, items[2].url}


def test_items_arriving_together_are_stored_and_counted(pipeline, db) -> None:
    pipe, source_id = pipeline
    items = [_item(source_id, n) for n in range(1, 8)]
    items.append(_item(source_id, 1))  # the same URL again: already stored by then
    bad = _item(source_id, 99)
    bad.analysis = object()

    async def run() -> list[object]:
        return await asyncio.gather(*(pipe.process_item(i) for i in [*items, bad]), return_exceptions=True)

    out = asyncio.run(run())
    assert isinstance(out[-1], DropItem)
    assert [i.notes["store"].status for i in items] == ["new"] * 7 + ["exists"]
    stats = pipe.crawler.stats
    assert stats.get_value("chainwatch/new") == 7 and stats.get_value("chainwatch/errors") == 1
    assert _counts(db)[:2] == (7, 7)

"""`chainwatch analyze` on a saved page and `chainwatch retag` over a stored article."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner
from sqlalchemy import select

from chainwatch.analysis import retag
from chainwatch.archive import PageRecord, store_page
from chainwatch.cli import main_group
from storage.models import Article, ArticleRegion, Event

PAGE = """<html><head><meta http-equiv="Content-Type" content="text/html; charset=gbk">
<title>宿迁市智能传感器产业联盟揭牌成立_宿迁市工业和信息化局</title></head><body>
<div class="nav"><a href="/">首页</a> &gt; <a href="/gzdt/">工作动态</a></div>
<h1>宿迁市智能传感器产业联盟揭牌成立</h1><div>发布时间：2026-11-12</div>
<div class="content"><p>11月11日，宿迁市智能传感器产业联盟揭牌成立，42家企业和科研院所成为首批成员单位。</p>
<p>根据行动方案，到2028年，全市智能传感器产业营业收入力争突破300亿元，培育规上企业50家以上。</p></div>
<div class="footer">打印本页 关闭窗口</div></body></html>"""


def test_analyze_shows_regions_chains_and_events(tmp_path: Path) -> None:
    page = tmp_path / "page.html"
    page.write_bytes(PAGE.encode("gbk"))
    result = CliRunner().invoke(main_group, ["analyze", str(page), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["title"] == "宿迁市智能传感器产业联盟揭牌成立"
    assert data["published"] == "2026-11-12"
    analysis = data["analysis"]
    assert analysis["relevant"] is True
    assert [r["code"] for r in analysis["regions"]] == ["321300"]
    assert "sensors" in {c["slug"] for c in analysis["chains"]}
    alliances = [e for e in analysis["events"] if e["type"] == "alliance"]
    assert [a["name"] for a in alliances] == ["宿迁市智能传感器产业联盟"]
    targets = {(e["value"], e["unit"], e["year"]) for e in analysis["events"] if e["type"] == "target"}
    assert (3e10, "CNY", 2028) in targets
    assert "打印本页" not in data["text"]


def test_analyze_refuses_a_missing_file() -> None:
    result = CliRunner().invoke(main_group, ["analyze", "/nonexistent/page.html"])
    assert result.exit_code != 0 and "/nonexistent/page.html" in result.output


def test_retag_fills_tags_with_region_ancestors(db) -> None:
    text = "11月11日，宿迁市智能传感器产业联盟揭牌成立，42家企业和科研院所成为首批成员单位。" * 2
    record = PageRecord(source_id=None, url="http://a.example/1.html", final_url="http://a.example/1.html",
                        title="宿迁市智能传感器产业联盟揭牌成立", text=text, text_normalized=text, language="zh",
                        published=None)
    db.run(lambda s: store_page(s, record))  # stored untagged, as by an older version
    assert retag(db) == 1
    with db.session() as s:
        art = s.scalars(select(Article)).one()
        codes = {(r.code, r.role) for r in s.scalars(select(ArticleRegion))}
        events = s.scalars(select(Event.type)).all()
    assert art.relevant is True and art.tag_version
    assert ("321300", "subject") in codes and ("320000", "ancestor") in codes
    assert "alliance" in events

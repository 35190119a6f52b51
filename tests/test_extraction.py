"""crawler.extraction.extract on hand-written fixtures and hostile input."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from crawler.encoding import decode_html
from crawler.extraction import ExtractedArticle, extract, extract_article

FIXTURES = Path(__file__).parent / "fixtures" / "extraction"
KEYS = {"text", "title", "date", "author", "language"}


def load(name: str, content_type: str | None = None) -> str:
    return decode_html((FIXTURES / name).read_bytes(), content_type)[0]


def paragraphs(result: dict[str, Any]) -> list[str]:
    return result["text"].split("\n\n")


# --------------------------------------------------------------------------
# government table layout, GBK with the charset only in <meta>


@pytest.fixture(scope="module")
def gov() -> dict[str, Any]:
    return extract(load("gov_table_gbk.html"), "http://gxj.example.gov.cn/gzdt/202303/t20230314_12.html")


def test_gov_title_drops_site_suffix(gov: dict[str, Any]) -> None:
    assert gov["title"] == "苏州市出台新一代信息技术产业链培育方案"


def test_gov_date_and_language(gov: dict[str, Any]) -> None:
    assert gov["date"] == "2023-03-14"
    assert gov["language"] == "zh"


def test_gov_body_has_all_paragraphs_and_no_boilerplate(gov: dict[str, Any]) -> None:
    paras = paragraphs(gov)
    assert len(paras) == 4
    assert paras[0].startswith("近日，苏州市印发")
    assert paras[-1].endswith("强化用地、资金和人才等要素保障。")
    for junk in ("您当前的位置", "打印本页", "关闭窗口", "相关链接", "无锡市召开", "ICP备", "发布时间", "字体"):
        assert junk not in gov["text"]


# --------------------------------------------------------------------------
# HTML5 portal with nav, sidebar, related list and share buttons


@pytest.fixture(scope="module")
def portal() -> dict[str, Any]:
    return extract(load("portal.html"), "https://news.example.cn/news/2023/0518/77.html")


def test_portal_title_date_author(portal: dict[str, Any]) -> None:
    assert portal["title"] == "四川成立电子信息产业联盟 百余家企业首批加入"
    assert portal["date"].startswith("2023-05-18")
    assert portal["author"] == "周明远"


def test_portal_body_without_nav_related_share(portal: dict[str, Any]) -> None:
    text = portal["text"]
    assert "首批成员单位包括整机制造" in text
    assert "降低中小企业研发成本" in text
    for junk in ("分享到", "相关阅读", "广东发布智能网联汽车", "热门推荐", "绵阳科技城", "责任编辑", "版权所有", "当前位置"):
        assert junk not in text


# --------------------------------------------------------------------------
# traditional-Chinese reprint with inline pinyin, 免責聲明 and 責任編輯


@pytest.fixture(scope="module")
def reprint() -> dict[str, Any]:
    return extract(load("reprint_hant.html", "text/html; charset=utf-8"), "http://cj.example.com/showinfo-263-5501-0.html")


def test_reprint_pinyin_removed_from_title_and_text(reprint: dict[str, Any]) -> None:
    assert reprint["title"] == "廣東成立海洋裝備產業聯盟"
    assert "本報訊（記者 黃志強）" in reprint["text"]
    assert "(chǎn)" not in reprint["text"] and "(bào)" not in reprint["text"]


def test_reprint_boilerplate_removed(reprint: dict[str, Any]) -> None:
    for junk in ("免責聲明", "責任編輯", "林小雨", "相關閱讀", "深圳發布", "當前位置"):
        assert junk not in reprint["text"]
    assert reprint["text"].endswith("力爭達到2000億元。")


def test_reprint_meta(reprint: dict[str, Any]) -> None:
    assert reprint["date"] == "2023-06-02"
    assert reprint["language"] == "zh-Hant"
    assert reprint["author"] == "黃志強"


# --------------------------------------------------------------------------
# English WordPress-like page


@pytest.fixture(scope="module")
def wordpress() -> dict[str, Any]:
    return extract(load("wordpress_en.html"), "https://daily.example.com/2023/02/07/jiangsu-plans-12-clusters/")


def test_wordpress_title_date(wordpress: dict[str, Any]) -> None:
    assert wordpress["title"] == "Jiangsu plans 12 advanced manufacturing clusters by 2025"
    assert wordpress["date"] == "2023-02-07"
    assert wordpress["language"] == "en"
    assert wordpress["author"] is None  # "2023-02-07 0 By" names nobody


def test_wordpress_body(wordpress: dict[str, Any]) -> None:
    paras = paragraphs(wordpress)
    assert len(paras) == 3
    assert paras[0].startswith("Jiangsu province will build twelve")
    for junk in ("Related Posts", "Guangdong sets up robotics", "Leave a Reply", "Copyright", "Posted in", "0 By"):
        assert junk not in wordpress["text"]


# --------------------------------------------------------------------------
# corporate page whose heading is truncated with "..."


@pytest.fixture(scope="module")
def corporate() -> dict[str, Any]:
    return extract(load("corporate_truncated.html"), "http://www.example-group.com/news/11.html")


def test_corporate_full_title_replaces_truncated_heading(corporate: dict[str, Any]) -> None:
    assert corporate["title"] == (
        "Lingnan Materials Group signs cooperation agreement with Guangzhou University "
        "on high-performance polymer research"
    )
    assert corporate["date"] == "2023-09-21"


def test_corporate_body_without_navigation(corporate: dict[str, Any]) -> None:
    text = corporate["text"]
    assert "joint laboratory for high-performance polymers" in text
    assert "invention patents within three years" in text
    for junk in ("Back >>", "Next:", "Up:", "annual safety", "News Center", "All Rights Reserved", "Release time"):
        assert junk not in text


# --------------------------------------------------------------------------
# hostile input


@pytest.mark.parametrize(
    "html",
    [
        "",
        "   \n ",
        "\x00\x01\x02\xff" * 50,
        "%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj << /Type /Catalog >> endobj",
        "<html><body><div class=",
        "<<<<>>>>",
        "<?xml version='1.0' encoding='gbk'?><html><body><p>x</p></body></html>",
    ],
)
def test_hostile_input_returns_a_dict(html: str) -> None:
    result = extract(html, "http://example.com/x.html")
    assert set(result) == KEYS
    assert isinstance(result["text"], str)


def test_truncated_page_inside_tag_and_multibyte_char() -> None:
    raw = (FIXTURES / "portal.html").read_bytes()
    cut = raw[: raw.index("联盟将围绕".encode()) + 4]  # mid-character, mid-paragraph
    cut = cut + b'<div class="sha'
    html, _ = decode_html(cut, "text/html; charset=utf-8")
    result = extract(html, "https://news.example.cn/news/2023/0518/77.html")
    assert result["title"] == "四川成立电子信息产业联盟 百余家企业首批加入"
    assert "首批成员单位包括整机制造" in result["text"]


def test_lying_charset_page_still_extracts() -> None:
    body = (FIXTURES / "portal.html").read_bytes().decode("utf-8").encode("gb18030")
    html, enc = decode_html(body, "text/html; charset=utf-8")  # the header lies
    assert enc == "gb18030"
    assert "四川省电子信息产业联盟在成都成立" in extract(html, "")["text"]


def test_date_falls_back_to_url() -> None:
    html = "<html><head><title>无日期的页面</title></head><body><h1>无日期的页面</h1><p>" + "广东推进制造业数字化转型。" * 8 + "</p></body></html>"
    assert extract(html, "http://x.example.gov.cn/art/202211/t20221103_123.html")["date"] == "2022-11-03"
    assert extract(html, "https://x.example.com/2021/07/09/some-slug/")["date"] == "2021-07-09"
    assert extract(html, "https://x.example.com/about/")["date"] is None


def test_date_ignores_related_list_dates() -> None:
    html = (
        "<html><body><h1>江苏召开产业链推进会</h1><div><p>"
        + "会议部署了重点产业链工作，强调要加强协同。" * 5
        + "</p></div><ul><li><a href='/1'>往期新闻标题一</a> 2020-01-02</li><li><a href='/2'>往期新闻标题二</a> 2020-01-01</li></ul></body></html>"
    )
    assert extract(html, "")["date"] is None


def test_forum_and_blog_posts_date_from_their_stamp_not_the_comments() -> None:
    body = "<p>" + "园区今年引进新材料项目十二个，产业链上下游配套持续完善。" * 6 + "</p>"
    forum = ("<html><body><div>首页 | 论坛 | 社区</div>" + body
             + "<p>本贴由张三于2005年8月12日16:12:21在〖产业论坛〗发表</p>"
             + "<div>回复 2005-08-13 09:00:00</div><div>回复 2005-08-14 10:00:00</div></body></html>")
    assert extract(forum, "")["date"] == "2005-08-12T16:12:21"
    blog = ("<html><body><h1>园区新材料项目</h1>" + body + "<div>编辑 发表于:2005-07-31 12:30</div>"
            + "<div>网友评论 | 2005-08-22 02:22</div></body></html>")
    assert extract(blog, "")["date"] == "2005-07-31T12:30:00"
    stamped = ("<html><body>" + body + "<div>http://news.example.com/ 2005-07-18 13:03:17</div>"
               + "<div>评论 (2005-07-19 08:00:00)</div></body></html>")
    assert extract(stamped, "")["date"] == "2005-07-18T13:03:17"


def test_extract_article_dataclass_and_fallback_date() -> None:
    art = extract_article("", "http://example.com/", fallback_date="2022-01-02")
    assert isinstance(art, ExtractedArticle)
    assert art.text == "" and art.date == "2022-01-02"


def test_deterministic() -> None:
    html = load("portal.html")
    assert extract(html, "u") == extract(html, "u")


# --------------------------------------------------------------------------
# slash dates, blog names as titles, month-only dates


def _page(head: str, body: str) -> str:
    return f"<html><head>{head}</head><body>{body}</body></html>"


_PROSE = "<p>" + "开发区今年新签约高端装备项目九个，配套企业陆续入驻，产业集群初具规模。" * 5 + "</p>"


def test_us_slash_date_after_label_with_am_pm() -> None:
    html = _page("<title>开发区装备产业集群初具规模</title>",
                 "<h1>开发区装备产业集群初具规模</h1><div>作者：王明 来源：本站 发布日期： 7/5/2005 9:23:57 PM</div>" + _PROSE)
    assert extract(html, "")["date"] == "2005-07-05T21:23:57"
    html = html.replace("7/5/2005 9:23:57 PM", "9/17/2004 5:54:13 AM")
    assert extract(html, "")["date"] == "2004-09-17T05:54:13"


def test_slash_dates_read_day_first_when_the_page_writes_them_so() -> None:
    archive = "".join(f"<li><a href='/a{d}'>{d}/02/2022</a></li>" for d in (13, 14, 21))
    html = _page("<title>开发区装备产业集群初具规模</title>",
                 "<h1>开发区装备产业集群初具规模</h1><div>发表时间： 06/02/2022 - 13:48</div>" + _PROSE + f"<ul>{archive}</ul>")
    assert extract(html, "")["date"] == "2022-02-06"


def test_short_blog_name_inside_a_line_is_not_the_headline() -> None:
    posts = "".join(
        f"<div>2005-06-{d:02d} 0{d % 10}:25:55</div><div>第{d}篇日记</div>{_PROSE}<div>云之南写于2005年6月{d - 2}日</div>"
        for d in (14, 13)
    )
    menu = "".join(f"<div><a href='/c{i}'>栏目{i}</a></div>" for i in range(15))
    html = _page("<title>云之南 | blog.example.com</title>", "<div>云之南 | blog.example.com</div>" + menu + posts)
    assert extract(html, "")["date"] == "2005-06-14T04:25:55"


def test_month_only_date_is_the_last_resort() -> None:
    report = _page("<title>园区企业调查报告</title>", "<h1>园区企业调查报告</h1><div>课题组</div><div>2003年5月</div>" + _PROSE)
    assert extract(report, "")["date"] == "2003-05-01"
    reprint = _page("<title>园区企业调查报告</title>", "<h1>园区企业调查报告</h1>" + _PROSE + "<p>——《产业观察》1998年3月号</p>")
    assert extract(reprint, "")["date"] == "1998-03-01"
    assert extract(reprint, "http://x.example.com/2021/07/09/report/")["date"] == "2021-07-09"
    in_prose = _page("<title>园区企业调查报告</title>", "<h1>园区企业调查报告</h1>" + _PROSE + "<p>项目于2003年5月开工。</p>")
    assert extract(in_prose, "")["date"] is None


# --------------------------------------------------------------------------
# the headline's own container votes between a short article and teasers


def test_headline_container_is_the_article_box_not_the_teaser_column() -> None:
    from crawler import extract_dom as dom

    root = dom.parse(load("portal_short_article.html"))
    box = dom.headline_container(root, "合肥新型显示产业园二期开工")
    assert box is not None and box.get("class") == "art"
    assert dom.headline_container(root, "页面上没有的标题") is None


def test_one_density_scan_serves_the_page_and_the_headline_box() -> None:
    """The shared scan picks what separate scans of the page and of the box pick."""
    from crawler import extract_dom as dom

    root = dom.parse(load("portal_short_article.html"))
    scan = dom.DensityScan(root)
    box = dom.headline_container(root, "合肥新型显示产业园二期开工", scan=scan)
    assert box is dom.headline_container(root, "合肥新型显示产业园二期开工")
    assert box is not None
    assert dom.density_candidate(root, scan=scan) is dom.density_candidate(root)
    assert dom.density_candidate(box, scan=scan) is dom.density_candidate(box)


def test_choose_body_same_choice_when_extractors_return_the_same_lines() -> None:
    from crawler.extraction import choose_body

    article = ["5月20日，合肥新型显示产业园二期项目开工，总投资120亿元。", "项目建成后预计年产值超过200亿元。"]
    teasers = ["芜湖市机器人及智能装备产业集群去年实现营收1020亿元，同比增长18%。"]
    # two identical candidates outvote the third, whatever object holds them
    assert choose_body({"trafilatura": article + teasers, "readability": list(article), "density": list(article)}) == article
    assert choose_body({"trafilatura": [], "readability": [], "density": []}) == []


def test_headline_vote_breaks_a_tie_and_is_never_the_body_itself() -> None:
    from crawler.extraction import choose_body

    article = ["5月20日，合肥新型显示产业园二期项目开工，总投资120亿元。", "项目建成后预计年产值超过200亿元。"]
    teasers = ["芜湖市机器人及智能装备产业集群去年实现营收1020亿元，同比增长18%。", "蚌埠市举行硅基新材料产业项目集中签约活动，共签约项目11个。", "宣城汽车零部件产业园新落户企业十五家。"]
    other = ["滁州市光伏组件年产能达到60吉瓦，居全省第一，当地依托龙头企业引进配套项目。"]
    candidates = {"trafilatura": article + teasers, "readability": teasers[:1] + other, "density": article}
    assert choose_body(candidates) == article + teasers
    assert choose_body({**candidates, "headline": article}) == article
    assert choose_body({"headline": article}) == []


# --------------------------------------------------------------------------
# sectioned articles, consent dialogs, dated lists, boilerplate lines


def test_article_split_into_sections_is_kept_whole_and_consent_dialog_dropped() -> None:
    from crawler import extract_dom as dom

    html = load("sectioned_consent_en.html")
    root = dom.parse(html)
    dom.remove_junk(root)
    for el in root.xpath("//*[@id='onetrust-consent-sdk']"):
        dom.drop(el)
    best = dom.density_candidate(root)
    assert best is not None and best.get("class") == "story__body"

    text = extract(html, "https://news.example.com/a")["text"]
    assert text.startswith("The Port of Example will add two berths")
    assert "Unions welcomed the plan" in text and "Supplier Delta Materials" in text
    assert "cookie" not in text.lower() and "Chip fab" not in text


def test_sibling_teasers_under_a_link_list_do_not_widen_the_body() -> None:
    from crawler import extract_dom as dom

    prose = "<p>" + "The plant will make cathode material for three battery factories in the region, officials said. " * 3 + "</p>"
    teaser = "<li><a href='/x'>" + "Another story about a different battery plant somewhere else, with a long link title. " * 2 + "</a><p>Short teaser text, with commas, for it.</p></li>"
    html = f"<html><body><div id='main'><div class='art'>{prose * 3}</div><ul class='more'>{teaser * 8}</ul></div></body></html>"
    best = dom.density_candidate(dom.parse(html))
    assert best is not None and best.get("class") == "art"


def test_arabic_script_sentence_marks_count_as_prose() -> None:
    from crawler import extract_dom as dom

    urdu = "<p>" + "دریا کے کنارے شہر آباد ہوا، لوگ یہاں کام کرتے ہیں، بچے اسکول جاتے ہیں۔ " * 4 + "</p>"
    menu = "".join(f"<p>Menu item {i} news sport weather video</p>" for i in range(12))
    html = f"<html><body><div class='side'><div>{menu}</div></div><div class='main'><div class='article'>{urdu * 3}</div></div></body></html>"
    best = dom.density_candidate(dom.parse(html))
    assert best is not None and best.get("class") == "article"


def test_related_reports_stamped_with_times_and_close_links_are_cut() -> None:
    from crawler.extract_rules import load_rules
    from crawler.extraction import clean_lines

    article = [f"开发区今年新签约高端装备项目{n}个，配套企业陆续入驻，产业集群初具规模。" * 3 for n in "一二三四"]
    tail = [
        "发送给朋友",
        "发表评论",
        "打印本文",
        "·园区新材料项目投产 (2005-04-27 14:32PM)",
        "·装备产业集群再添新军 (2005-04-19 10:25AM)",
        "·开发区召开产业链推进会 [2005-04-18 09:03]",
        "返回页首 | 关闭窗口",
    ]
    assert clean_lines(article + tail, None, load_rules()) == article
    assert clean_lines([*article, "相关报道：", *tail[3:]], None, load_rules()) == article


def test_forum_reply_list_is_not_the_body() -> None:
    from crawler.extraction import choose_body, is_dated_listing

    post = ["你知道园区为什么要引进配套企业吗？", "配套企业就近供货，运输成本下降三成，这是产业链招商的好处。"]
    replies = [f"回复第{i}条，说得好【网友{i}】08-1{i} 16:5{i} 13{i}字 [140/0]" for i in range(7)]
    assert is_dated_listing(replies) and not is_dated_listing(post)
    assert choose_body({"trafilatura": post + replies, "density": replies, "readability": post}) == post
    # a page that is nothing but a list keeps it
    assert choose_body({"density": replies, "readability": replies[:5]}) == replies


def test_widget_ad_disclaimer_and_social_lines_dropped() -> None:
    from crawler.extract_rules import load_rules
    from crawler.extraction import clean_lines

    rules = load_rules()
    prose = [f"The port will add {n} berths for cathode material shipments, the port authority said on Thursday." for n in ("two", "three", "four", "five")]
    lines = ["举报", "用微信扫码二维码", *prose[:2], "Advertisement", "Image 2 of 5", "Photo: Jane Doe, AP",
             "Related: Steel prices fall again", "Baca juga: Harga baja turun lagi", "CLICK HERE TO GET THE APP", *prose[2:],
             "Get the latest news delivered straight to your inbox. Sign up for our newsletters.",
             "Follow Example News on Facebook, X and Instagram.", "Related Topics", "Steel prices fall"]
    assert clean_lines(lines, None, rules) == prose
    assert clean_lines([*prose, "特别声明：以上内容为用户上传，本平台仅提供信息存储服务。", "Notice: the content above"], None, rules) == prose
    kept = ["扫码支付已经普及，市民出行更加便利。", "Follow the money on Twitter is hard to do, analysts say.",
            "About two million readers signed up for its newsletter last year, the company said."]
    assert clean_lines(kept + prose, None, rules) == kept + prose


def test_shared_boilerplate_does_not_outvote_the_clean_candidate() -> None:
    from crawler.extract_rules import load_rules
    from crawler.extraction import choose_body, choose_clean_body

    article = [f"苹果公司周二表示，计划要求法官驳回第{n}项诉讼，称其面临激烈竞争。" for n in "一二三"]
    junk = ["举报", "用微信扫码二维码"]
    notice = ["特别声明：以上内容(如有图片或视频亦包括在内)为自媒体平台用户上传并发布，本平台仅提供信息存储服务。",
              "Notice: The content above (including the pictures and videos if any) is uploaded and posted by a user."]
    candidates = {"trafilatura": junk + article + notice, "readability": junk + article + notice[:1], "density": article}
    assert choose_body(candidates) != article
    assert choose_clean_body(candidates, None, load_rules()) == article


def test_lead_paragraphs_beside_the_wrapper_of_the_rest_are_kept() -> None:
    from crawler import extract_dom as dom

    lead = "".join(f"<p>Lead paragraph {n} of the story says the plant opened on Monday, and that it employs 300 people.</p>" for n in (1, 2))
    rest = "".join(f"<p>Paragraph {n} adds detail, quotes an official, and explains what the plant will make next year.</p>" for n in range(3, 8))
    html = f"<html><body><div class='menu'><a href='/'>Home</a></div><div class='body'>{lead}<div class='wall'>{rest}</div></div></body></html>"
    best = dom.density_candidate(dom.parse(html))
    assert best is not None and best.get("class") == "body"


def test_author_box_beside_the_article_does_not_widen_the_body() -> None:
    from crawler import extract_dom as dom

    story = "".join(f"<p>Paragraph {n} of the story, with a quote, a figure and a date, explains the new plant.</p>" for n in range(6))
    bio = "<p>Jane Doe is a reporter who covers energy, industry and trade, and has written for many papers.</p>" * 3
    html = f"<html><body><div class='col'><div class='news-content'>{story}</div><div class='news-content-bottom'>{bio}</div></div></body></html>"
    best = dom.density_candidate(dom.parse(html))
    assert best is not None and best.get("class") == "news-content"


def test_headline_box_votes_on_cjk_pages_only() -> None:
    from crawler.extraction import choose_body

    article = ["The plant opened on Monday and employs 300 people, the company said.", "It will make cathode material."]
    extra = ["Watch the opening ceremony of the new plant in our video, recorded by our team on Monday."]
    candidates = {"trafilatura": article, "readability": article + extra, "density": article + extra}
    assert choose_body(candidates) == article + extra
    # on an alphabetic page the headline box does not add a third vote for the density extractor
    assert choose_body({"trafilatura": article + extra, "readability": article, "density": article, "headline": article + extra}) == article


def test_wiki_infobox_navbox_references_and_edit_links_left_out_of_the_density_body() -> None:
    from crawler import extract_dom as dom
    from crawler.extract_rules import load_rules
    from crawler.extraction import _density_lines

    prose = "".join(f"<p>新区第{n}期规划于2017年公布，重点发展高端制造、新材料和数字经济，配套建设交通、教育和医疗设施。</p>" for n in range(1, 6))
    html = (
        "<html><body><div id='content'><h1>示例新区</h1><div class='mw-parser-output'>"
        "<table class='infobox'><tr><th>设立时间</th><td>2017年4月1日，由国务院批复设立、河北省管理。</td></tr>"
        "<tr><th>面积</th><td>1770平方公里，含三个县、一个开发区。</td></tr></table>"
        f"<h2>历史沿革<span class='mw-editsection'>[编辑]</span></h2>{prose}"
        "<div class='navbox'>示例省的国家级新区：甲新区、乙新区、丙新区，以及在建的丁新区。</div>"
        "<ol class='references'><li>新区规划纲要全文，人民日报，2018年4月21日。</li></ol>"
        "</div></div></body></html>"
    )
    root = dom.parse(html)
    lines, _ = _density_lines(root, load_rules(), "示例新区")
    text = "\n".join(lines)
    assert "新区第1期规划" in text and "新区第5期规划" in text and "历史沿革" in text
    assert "1770平方公里" not in text and "[编辑]" not in text and "丁新区" not in text and "人民日报" not in text


def test_location_label_visitor_counter_and_video_player_controls_dropped() -> None:
    from crawler.extract_rules import load_rules
    from crawler.extraction import clean_lines

    prose = [f"开发区今年新签约高端装备项目{n}个，配套企业陆续入驻，产业集群初具规模。" for n in "一二三四"]
    player = ["00:00/01:45", "1.5X", "0.75x", "100%", "480P", "高清", "超清", "循环播放", "跳过片头"]
    lines = ["发布于：北京市", *player, *prose[:2], "您是本文第 154 个阅览者", *prose[2:], "IP属地：广东"]
    assert clean_lines(lines, None, load_rules()) == prose
    kept = ["园区产值增长15%，达到1200亿元。", "高清视频监控系统已覆盖全部园区。", "发布于：北京市的一篇报道称，园区产值增长15%。"]
    assert clean_lines(kept + prose, None, load_rules()) == kept + prose


# --------------------------------------------------------------------------
# a video player inside the article: its buttons and messages are not text


def test_video_player_controls_and_messages_are_dropped_with_the_player() -> None:
    player = (
        "<div class='clip'><div class='clip-head'><span>高端装备产业园宣传片</span><a>展开</a></div>"
        "<div class='clip-body'><h4>高端装备产业园宣传片<a>收起</a></h4>"
        "<div class='skin'><video src='/v/1.mp4'></video><div class='bar'><span>00:00</span><span>/</span>"
        "<span>03:12</span><span>倍速</span><span>1.25X</span></div>"
        "<div class='err'><p>很抱歉，当前视频播放失败</p><p>错误代码：VE-502</p><button>刷新</button></div></div>"
        "<div class='note'><span>时长：03:12</span><span>建议在无线网络下观看</span></div></div></div>"
    )
    lead = "<p>记者从市工信局获悉，高端装备产业园一期已有十二家企业投产，二期将于年内动工。</p>"
    html = _page("<title>高端装备产业园一期投产</title>",
                 f"<h1>高端装备产业园一期投产</h1><div class='content'>{player}{lead}{_PROSE}</div>")
    text = extract(html, "")["text"]
    assert "高端装备产业园一期已有十二家企业投产" in text and "开发区今年新签约" in text
    for ui in ("展开", "收起", "00:00", "播放失败", "错误代码", "时长", "无线网络", "宣传片"):
        assert ui not in text


def test_media_player_drop_stops_at_the_prose_around_it() -> None:
    from crawler import extract_dom as dom

    caption = "<figcaption>图为产业园一期厂房，园区今年计划引进配套企业二十家以上。</figcaption>"
    root = dom.parse(_page("", f"<article><figure><div class='v'><video></video><span>00:00</span></div>{caption}</figure>{_PROSE}</article>"))
    dom.remove_junk(root)
    text = dom.element_text(root)
    assert "00:00" not in text and "图为产业园一期厂房" in text and "开发区今年新签约" in text
    # two videos in one player box: one drop
    root = dom.parse(_page("", f"<div class='p'><video></video><video></video><span>00:00</span></div>{_PROSE}"))
    dom.remove_junk(root)
    assert "00:00" not in dom.element_text(root) and "开发区今年新签约" in dom.element_text(root)
    # audio the same; a player alone in <body> is dropped, never <body> itself
    root = dom.parse(_page("", "<div><audio></audio><span>播放</span><span>02:10</span></div>"))
    dom.remove_junk(root)
    assert root.find(".//body") is not None and dom.element_text(root) == ""


# --------------------------------------------------------------------------
# the register table of a government document page is kept as the body's head


_REGISTER = (
    "<table class='xxgk'><tr><td>索 引 号：</td><td>114100000052000000/2023-00117</td><td>主题分类：</td><td>工业、交通</td></tr>"
    "<tr><td>发文机关：</td><td>河南省人民政府</td><td>成文日期：</td><td>2023年04月11日</td></tr>"
    "<tr><td>标　　题：</td><td>河南省人民政府关于加快新材料产业集群发展的意见</td></tr>"
    "<tr><td>发文字号：</td><td>豫政〔2023〕9号</td><td>发布日期：</td><td>2023年04月14日</td></tr>"
    "<tr><td>主 题 词：</td><td></td></tr></table>"
)
_DECREE = (
    "<h1>河南省人民政府关于加快新材料产业集群发展的意见</h1><div class='doc'><p>豫政〔2023〕9号</p>"
    "<p>各省辖市人民政府，省人民政府各部门：</p>"
    "<p>为加快新材料产业集群发展，培育先进基础材料、关键战略材料和前沿新材料三个千亿级产业链，现提出如下意见。</p>"
    "<p>一、到2025年，全省新材料产业营业收入突破9000亿元，建成十个以上特色产业园区。</p></div>"
)


def test_government_register_table_kept_as_the_first_body_lines() -> None:
    html = _page("<title>河南省人民政府关于加快新材料产业集群发展的意见</title>", _REGISTER + _DECREE + _REGISTER.replace("xxgk", "print"))
    lines = paragraphs(extract(html, ""))
    assert lines[:6] == [
        "索引号：114100000052000000/2023-00117",
        "主题分类：工业、交通",
        "发文机关：河南省人民政府",
        "成文日期：2023年04月11日",
        "发文字号：豫政〔2023〕9号",
        "发布日期：2023年04月14日",
    ]  # the headline row and the empty 主题词 are left out; the print copy adds nothing
    assert lines[6] == "豫政〔2023〕9号" and "各省辖市人民政府，省人民政府各部门：" in lines
    assert sum(line.startswith("索引号") for line in lines) == 1


def test_register_labels_inline_and_not_mistaken_for_a_dateline() -> None:
    inline = ("<ul class='info'><li>索引号：00249-2023-000311</li><li>发布机构：市工业和信息化局</li>"
              "<li>文号：郑工信〔2023〕21号</li><li>发布日期：2023-06-02</li></ul>")
    html = _page("<title>郑州市工业和信息化局关于开展智能工厂认定工作的通知</title>", inline + _DECREE)
    assert paragraphs(extract(html, ""))[:4] == ["索引号：00249-2023-000311", "发布机构：市工业和信息化局", "文号：郑工信〔2023〕21号", "发布日期：2023-06-02"]
    # a news dateline (one label, no key label) is no register: dropped as before
    news = _page("<title>开发区装备产业集群初具规模</title>",
                 "<h1>开发区装备产业集群初具规模</h1><div>发布日期：2023-06-02 来源：本站 分类：工作动态</div>" + _PROSE)
    assert paragraphs(extract(news, ""))[0].startswith("开发区今年新签约")


# --------------------------------------------------------------------------
# a page of dated entries (a blog's latest posts): the first entry is the article


def test_first_of_several_dated_entries_is_kept() -> None:
    from crawler.extraction import cut_second_entry

    first = ["周末去了新建成的滨河湿地公园，沿着步道走了一圈，芦苇已经长得比人还高，候鸟也比往年多了不少。",
             "公园东侧的科普馆免费开放，孩子们在里面看了半个小时的湿地生态展。"]
    second = ["单位食堂换了新菜单", "2019-04-02 21:15:40", "食堂这个月起每天多了两样素菜，价格也没有涨，同事们都说比以前好吃。"]
    third = ["春天的第一场雨", "2019-03-28 07:02", "早上下了一场小雨，空气特别清新，骑车上班的路上心情也很好。"]
    assert cut_second_entry(first + second + third) == first
    # one stamp after the prose (a single reply) is left alone, and so are
    # dates without a clock time, such as the date line closing a document
    assert cut_second_entry(first + second) == first + second
    closing = [*first, "滨河新区管理委员会", "2019年4月2日", "附件：湿地公园开放时间表", "2019年4月3日"]
    assert cut_second_entry(closing) == closing


def test_blog_page_of_posts_gives_its_latest_post() -> None:
    posts = "".join(
        f"<div class='post'><h3>{t}</h3><div class='stamp'>{d}</div><div class='entry'><p>{body}</p></div></div>"
        for t, d, body in (
            ("滨河湿地公园一日游", "2019-04-06 18:20:11", "周末去了新建成的滨河湿地公园，沿着步道走了一圈，芦苇已经长得比人还高，候鸟也比往年多了不少。公园东侧的科普馆免费开放，孩子们在里面看了半个小时的湿地生态展，出来还领了纪念章。"),
            ("单位食堂换了新菜单", "2019-04-02 21:15:40", "食堂这个月起每天多了两样素菜，价格也没有涨，同事们都说比以前好吃。午饭后大家还会去楼下的小花园散步，聊聊最近看的书和电影。"),
            ("春天的第一场雨", "2019-03-28 07:02:33", "早上下了一场小雨，空气特别清新，骑车上班的路上心情也很好。路边的玉兰花开了一大片，很多人停下来拍照，我也拍了几张发给家里人看。"),
        )
    )
    html = _page("<title>小林的博客</title>", f"<div class='head'>小林的博客</div><div class='main'>{posts}</div>")
    text = extract(html, "")["text"]
    assert "滨河湿地公园" in text and "候鸟" in text
    assert "食堂" not in text and "玉兰花" not in text


def test_reprint_notices_story_links_and_feed_widgets_dropped() -> None:
    from crawler.extract_rules import load_rules
    from crawler.extraction import clean_lines

    rules = load_rules()
    prose = [f"开发区今年新签约高端装备项目{n}个，配套企业陆续入驻，产业集群初具规模。" for n in "一二三四五六七八"]
    widgets = ["推荐阅读：全省首个氢能产业园在郑州开园", "延伸閱讀：新能源汽車產業鏈再添新項目", "不喜欢", "减少或屏蔽此类内容推荐",
               "已标记为不喜欢内容，系统将减少此类推荐", "登录后您可以享受以下权益："]
    assert clean_lines([*prose[:2], *widgets, *prose[2:]], None, rules) == prose
    notice = "产业观察网原创稿件，未经书面授权请勿转载。"
    assert clean_lines([*prose[:3], notice, *prose[3:]], None, rules) == prose
    # a reprint request near the end closes the article (the blurb after it goes too)
    blurb = "作者简介：王明，资深产业分析师，长期关注中部地区先进制造业发展与区域产业政策研究。"
    assert clean_lines([*prose, "转载请注明出处：产业观察网", blurb], None, rules) == prose
    # prose that only mentions these words stays
    kept = ["推荐阅读材料已发给全体参会企业，会议要求各企业认真学习。", "未经授权转载他人作品的企业将被依法处理，园区将加强知识产权保护工作，设立专门窗口受理企业投诉。",
            "不喜欢加班的年轻人越来越多，园区企业纷纷调整工作制度。"]
    assert clean_lines(kept + prose, None, rules) == kept + prose

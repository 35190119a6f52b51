#!/usr/bin/env python3
"""Crawl throughput and memory: plain Scrapy against the whole chainwatch pipeline, same site.

    .venv/bin/python bench/crawl.py                 # 10,000 generated article pages
    .venv/bin/python bench/crawl.py --pages 20000   # memory must not grow with this
    .venv/bin/python bench/crawl.py --quick         # 300 pages: a CI smoke run (well under a minute)

1. Generates a government-style news site of N Chinese industrial-policy articles (titles, dates,
   a few paragraphs naming regions, industries, alliances and targets, navigation and footer
   boilerplate) from a word bank, with paginated listing pages (index.html, index_1.html, ...),
   robots.txt and a sitemap index, and serves the files on 127.0.0.1 from a Twisted static site
   in its own process.
2. Crawls the article URLs with a minimal Scrapy spider (empty callback), then runs the real thing
   in a fresh CHAINWATCH_HOME: ``chainwatch sources add URL`` and ``chainwatch crawl``, both as
   subprocesses, with AutoThrottle off and no download delay, at the same concurrency.
3. Prints one table: pages, seconds, pages/s, CPU per page, the pipeline/plain ratio (goal >= 0.5),
   the crawl's peak memory (goal < 500 MB) and its memory at 25/50/75/100 % of the stored articles
   (it must not grow with the number of pages).

Memory is the summed PSS of the crawl process and its descendants (the extraction workers), CPU their
summed user + system time, both read from /proc every 0.2 s. Asserts nothing; exits non-zero only
when a step fails. ``--profile FILE`` runs the pipeline crawl under py-spy (tools extra; every thread,
samples holding the GIL only, since the crawl is GIL-bound), writes its raw stacks to FILE and prints
the top functions; memory is then that of py-spy and not reported.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import date, timedelta
from html import escape
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PER_LISTING = 40      # article links per listing page
PER_SITEMAP = 1000    # URLs per child sitemap (the news spider reads up to 2,000 of each)

# ----------------------------------------------------------------------------------------- word bank
PROVINCES = {
    "江苏省": ["苏州市", "无锡市", "常州市", "南京市", "南通市"],
    "四川省": ["成都市", "绵阳市", "宜宾市", "德阳市"],
    "广东省": ["深圳市", "广州市", "佛山市", "东莞市", "惠州市"],
    "浙江省": ["杭州市", "宁波市", "嘉兴市", "温州市"],
    "河南省": ["郑州市", "洛阳市", "新乡市", "许昌市"],
    "湖北省": ["武汉市", "襄阳市", "宜昌市"],
    "安徽省": ["合肥市", "芜湖市", "滁州市"],
    "山东省": ["青岛市", "济南市", "烟台市", "潍坊市"],
    "湖南省": ["长沙市", "株洲市", "湘潭市"],
    "陕西省": ["西安市", "宝鸡市"],
}
DISTRICTS = ["高新区", "经开区", "工业园区", "新区", "临港片区", "综合保税区", "科技城", "产业园"]
INDUSTRIES = [
    "新能源汽车", "集成电路", "生物医药", "工业母机", "动力电池", "光伏", "储能", "人工智能",
    "超硬材料", "碳纤维", "智能网联汽车", "工业机器人", "轴承", "新型显示", "氢能", "医疗器械",
    "北斗导航", "软件和信息服务", "现代纺织", "预制菜", "低空经济", "航空航天", "节能环保", "化工新材料",
]
COMPANIES = [
    "宁德时代", "比亚迪", "中芯国际", "隆基绿能", "三一重工", "京东方", "迈瑞医疗", "汇川技术",
    "中航光电", "洛阳轴承", "天合光能", "亿纬锂能", "国轩高科", "通威股份", "恒瑞医药", "海康威视",
]
DEPARTMENTS = ["市工业和信息化局", "市发展和改革委员会", "市商务局", "市科技局", "市人民政府办公室",
               "省工业和信息化厅", "市投资促进局", "市统计局"]
SECTIONS = [("xwdt", "工作动态"), ("tzgg", "通知公告"), ("cyfz", "产业发展")]

TITLES = [
    "{city}{ind}产业联盟正式成立",
    "{city}出台{ind}产业高质量发展三年行动方案（{y}—{y2}年）",
    "{city}全面推行{ind}产业链“链长制”",
    "{co}{ind}项目签约落户{city}{dist}",
    "{prov}召开{ind}产业链发展推进会",
    "到{y2}年{city}{ind}产业规模力争突破{n}亿元",
    "{city}{dist}{ind}产业集群入选国家级先进制造业集群",
    "{city}{ind}重点项目集中开工 总投资{n}亿元",
    "{dept}关于组织申报{y}年度{ind}产业专项资金的通知",
    "{city}召开{ind}产业链链长工作会议",
    "{city}与{co}签署{ind}战略合作协议",
    "{y}年前三季度{city}{ind}产业产值同比增长{pct}%",
]
OPENERS = [
    "{date}，{city}{ind}产业发展大会在{dist}举行。",
    "近日，{dept}印发《{city}{ind}产业高质量发展实施方案》。",
    "{date}上午，{city}召开{ind}产业链工作推进会，市委常委、副市长出席会议并讲话。",
    "记者从{dept}获悉，{city}{ind}产业今年以来保持较快增长势头。",
    "{date}，由{city}牵头组建的{ind}产业联盟在{dist}揭牌成立，首批成员单位{k}家。",
    "为加快构建现代化产业体系，{city}日前出台支持{ind}产业发展的若干政策措施。",
]
CLAUSES_A = [
    "方案提出，到{y2}年，全市{ind}产业规模突破{n}亿元",
    "会议要求，各级各部门要压紧压实链长责任",
    "据统计，{y}年全市{ind}规模以上企业达到{k}家",
    "{co}负责人表示，将在{city}追加投资{n2}亿元建设生产基地",
    "联盟将围绕{ind}产业链关键环节开展联合攻关",
    "{dist}已集聚{ind}上下游企业{k}余家",
    "今年1至{m}月，{city}{ind}产业实现营业收入{n}亿元，同比增长{pct}%",
    "{prov}将{ind}列为重点培育的战略性新兴产业集群",
    "项目全部达产后，预计年产值可达{n2}亿元，新增就业岗位{k}个",
    "该市还设立规模{n2}亿元的{ind}产业投资基金",
    "市领导担任{ind}产业链链长，统筹推进补链延链强链",
    "{city}与{city2}将共建{ind}产业协作配套园区",
    "截至{m}月底，全市新签约{ind}项目{k}个，协议投资额{n}亿元",
    "下一步，{dept}将持续优化营商环境，强化要素保障",
    "围绕整车、零部件、材料和装备等环节，{city}梳理形成重点企业清单和招商图谱",
    "全市{ind}领域累计培育专精特新“小巨人”企业{k}家",
]
CLAUSES_B = [
    "推动产业链上下游协同发展",
    "着力打造具有全国影响力的{ind}产业高地",
    "加快形成千亿级产业集群",
    "力争到{y2}年建成国内领先的{ind}创新中心",
    "进一步提升产业基础高级化和产业链现代化水平",
    "重点支持关键核心技术攻关和首台（套）装备推广应用",
    "为全市经济高质量发展注入强劲动能",
    "实现研发设计、生产制造、应用推广一体化布局",
    "建立链长、链主、链创、链服“四链”协同工作机制",
    "加大对中小企业融资、用地和人才引进的支持力度",
    "鼓励企业开展技术改造和数字化转型",
    "探索“飞地经济”和园区共建等合作模式",
    "形成“龙头企业＋配套企业＋公共服务平台”的产业生态",
    "持续推进{ind}产业强链补链工程",
]
CLOSERS = [
    "（来源：{dept}）",
    "会议还通报了{y}年{ind}产业链重点工作任务清单。",
    "据悉，{city}将定期召开{ind}产业链联席会议，协调解决企业发展中的困难和问题。",
    "相关政策自印发之日起施行，有效期{k2}年。",
    "下一步，{city}将以更大力度推动{ind}产业集聚发展。",
]
# Free-running policy prose: sentences drawn word by word from this bank keep unrelated articles
# far less alike than a fixed set of sentences would (character 3-gram Jaccard ~0.075 between two
# articles; ~0.02 in the evaluation corpus), so the near-duplicate check finds a few LSH candidates
# to compare but merges nothing.
WORDS = """
统筹 谋划 部署 落实 推进 深化 优化 完善 健全 构建 培育 壮大 引进 招引 储备 遴选 评审 认定 申报 兑现
奖补 贴息 担保 融资 授信 债券 基金 股权 并购 上市 挂牌 孵化 加速 中试 验证 检测 认证 标准 专利 商标
品牌 质量 效益 效率 成本 能耗 排放 碳达峰 碳中和 绿色 低碳 循环 数字化 网络化 智能化 信息化 工业互联网
云计算 大数据 区块链 物联网 算力 算法 数据要素 场景 应用 示范 试点 标杆 灯塔 工厂 车间 产线 园区 基地
集聚区 示范区 走廊 枢纽 港口 口岸 铁路 物流 仓储 冷链 供应链 价值链 创新链 人才链 资金链 龙头 链主
配套 协作 分工 上游 下游 整机 零部件 原材料 关键件 元器件 芯片 模组 电池 电机 电控 传感器 控制器 减速器
伺服 轴承 齿轮 模具 刀具 机床 焊接 铸造 锻压 热处理 涂装 装配 调试 运维 服务 咨询 设计 研发 实验室
研究院 工程中心 技术中心 创新中心 高校 院所 企业 平台 联盟 协会 商会 行业 部门 区县 乡镇 街道 社区 窗口
审批 备案 核准 环评 能评 用地 用林 规划 许可 验收 投产 达产 满产 扩能 扩产 技改 搬迁 改造 升级 转型
攻关 突破 首台套 首批次 首版次 国产化 替代 进口 出口 外贸 外资 订单 营收 税收 产值 增加值 利润 投资
开工 签约 落地 竣工 交付 运营 招商 推介 洽谈 对接 路演 展会 论坛 峰会 大赛 培训 观摩 调研 督导 考核
通报 约谈 整改 清单 台账 专班 闭环 机制 政策 细则 办法 意见 方案 规划纲要 行动计划 指导目录 白名单
""".split()  # noqa: SIM905 (a word list reads best as one)
PEOPLE = ["张伟", "王芳", "李强", "刘洋", "陈静", "杨帆", "赵磊", "黄敏", "周婷", "吴刚", "徐丽", "孙浩"]


def _fill(rng: random.Random, template: str, ctx: dict[str, str]) -> str:
    values = dict(ctx)
    values.update(n=str(rng.randint(50, 3000)), n2=str(rng.randint(5, 300)), k=str(rng.randint(12, 480)),
                  k2=str(rng.randint(2, 5)), pct=f"{rng.uniform(3, 45):.1f}", m=str(rng.randint(2, 11)))
    return template.format(**values)


def _prose(rng: random.Random, words: int) -> str:
    out = []
    for i in range(words):
        out.append(rng.choice(WORDS))
        if i and i % 5 == 4 and i < words - 1:
            out.append(rng.choice(["和", "、", "，", "与", "的", "，加快", "，推动", "，强化"]))
    return "".join(out)


@dataclass
class Article:
    no: int
    path: str
    title: str
    day: date
    section: tuple[str, str]
    source: str
    paragraphs: list[str] = field(default_factory=list)


def make_article(no: int, total: int, rng: random.Random) -> Article:
    prov = rng.choice(list(PROVINCES))
    city = rng.choice(PROVINCES[prov])
    other_prov = rng.choice(list(PROVINCES))
    day = date(2025, 12, 31) - timedelta(days=no * 730 // max(1, total) + rng.randint(0, 3))
    y = day.year
    ctx = {
        "prov": prov, "city": city, "city2": rng.choice(PROVINCES[other_prov]), "dist": rng.choice(DISTRICTS),
        "ind": rng.choice(INDUSTRIES), "co": rng.choice(COMPANIES), "dept": rng.choice(DEPARTMENTS),
        "y": str(y), "y2": str(y + rng.choice([2, 3, 5])), "date": f"{day.month}月{day.day}日",
    }
    title = _fill(rng, rng.choice(TITLES), ctx)
    paragraphs = [_fill(rng, rng.choice(OPENERS), ctx)]
    for _ in range(rng.randint(3, 6)):
        ctx["ind"] = rng.choice([ctx["ind"], ctx["ind"], rng.choice(INDUSTRIES)])
        sentences = []
        for _ in range(rng.randint(2, 4)):
            closing = "，" + _fill(rng, rng.choice(CLAUSES_B), ctx) if rng.random() < 0.3 else ""
            sentences.append(_fill(rng, rng.choice(CLAUSES_A), ctx) + "，" + _prose(rng, rng.randint(12, 24))
                             + closing + rng.choice(["。", "。", "；同时，"]))
        paragraphs.append("".join(sentences).rstrip("；同时，") + ("" if sentences[-1].endswith("。") else "。"))
    paragraphs.append(_fill(rng, rng.choice(CLOSERS), ctx))
    paragraphs.append(f"（记者 {rng.choice(PEOPLE)} 通讯员 {rng.choice(PEOPLE)}）")
    section = SECTIONS[no % len(SECTIONS)]
    path = f"/{section[0]}/{day:%Y%m}/t{day:%Y%m%d}_{4_000_000 + no}.html"
    return Article(no=no, path=path, title=title, day=day, section=section, source=ctx["dept"],
                   paragraphs=paragraphs)


SITE_NAME = "江苏省苏州市工业和信息化局"


def page(title: str, body: str, meta: str = "") -> str:
    nav = "".join(f'<td align="center"><a href="/{key}/index.html">{name}</a></td>' for key, name in SECTIONS)
    return f"""<!DOCTYPE html>
<html lang="zh-CN">
<head>
<meta http-equiv="Content-Type" content="text/html; charset=utf-8">
<meta name="SiteName" content="{SITE_NAME}">
<meta name="SiteDomain" content="gxj.suzhou.gov.cn">
{meta}<title>{escape(title)}</title>
<link href="/css/style.css" rel="stylesheet" type="text/css">
<script type="text/javascript">function doZoom(size){{document.getElementById('zoom').style.fontSize=size+'px';}}</script>
</head>
<body>
<div class="top_bar"><a href="javascript:void(0)">设为首页</a> | <a href="javascript:void(0)">加入收藏</a> | <a href="javascript:void(0)">无障碍浏览</a> | <a href="javascript:void(0)">English</a></div>
<div class="banner"><span class="banner_cn">{SITE_NAME}</span><br><span class="banner_en">Suzhou Bureau of Industry and Information Technology</span></div>
<table class="nav" width="1000" align="center"><tr><td align="center"><a href="/">网站首页</a></td><td align="center"><a href="javascript:void(0)">机构概况</a></td>{nav}<td align="center"><a href="javascript:void(0)">政策文件</a></td><td align="center"><a href="javascript:void(0)">办事服务</a></td><td align="center"><a href="javascript:void(0)">互动交流</a></td></tr></table>
{body}
<div class="footer">
<p class="footer_links"><a href="javascript:void(0)">网站地图</a> | <a href="javascript:void(0)">联系我们</a> | <a href="javascript:void(0)">隐私声明</a> | <a href="javascript:void(0)">网站纠错</a></p>
<p class="footer_text">主办单位：{SITE_NAME}　地址：苏州市姑苏区三香路998号　邮编：215004<br>
联系电话：0512-68610000　网站标识码：3205000012　苏ICP备05012345号-1　苏公网安备 32050802010000号<br>
建议使用1024×768以上分辨率浏览本站</p>
</div>
</body>
</html>
"""


def article_html(a: Article, newer: Article | None, older: Article | None) -> str:
    meta = (f'<meta name="ArticleTitle" content="{escape(a.title)}">\n'
            f'<meta name="PubDate" content="{a.day:%Y-%m-%d} 09:{a.no % 60:02d}">\n'
            f'<meta name="ContentSource" content="{a.source}">\n'
            f'<meta name="ColumnName" content="{a.section[1]}">\n')
    paras = "\n".join(f'<p style="text-indent: 2em; line-height: 2;">{escape(p)}</p>' for p in a.paragraphs)
    prev_link = f'<a href="{newer.path}">{escape(newer.title)}</a>' if newer else "没有了"
    next_link = f'<a href="{older.path}">{escape(older.title)}</a>' if older else "没有了"
    body = f"""<div class="position">您当前的位置：<a href="/">首页</a> &gt; <a href="/{a.section[0]}/index.html">{a.section[1]}</a> &gt; 正文</div>
<table width="1000" align="center" class="article_box">
<tr><td align="center" class="article_title">{escape(a.title)}</td></tr>
<tr><td align="center" class="article_info">发布时间：{a.day:%Y-%m-%d}&nbsp;&nbsp;来源：{a.source}&nbsp;&nbsp;浏览次数：<span id="hits">--</span>&nbsp;&nbsp;【字体：<a href="javascript:doZoom(18)">大</a> <a href="javascript:doZoom(16)">中</a> <a href="javascript:doZoom(14)">小</a>】</td></tr>
<tr><td class="article_content" id="zoom"><div class="TRS_Editor">
{paras}
</div></td></tr>
<tr><td align="right" class="article_tools">【<a href="javascript:window.print()">打印本页</a>】【<a href="javascript:window.close()">关闭窗口</a>】</td></tr>
<tr><td class="article_nav">上一篇：{prev_link}<br>下一篇：{next_link}</td></tr>
</table>
<div class="related"><h3>相关链接</h3><ul><li><a href="javascript:void(0)">中国政府网</a></li><li><a href="javascript:void(0)">江苏省人民政府</a></li><li><a href="javascript:void(0)">苏州市人民政府</a></li></ul></div>"""
    return page(f"{a.title}-{SITE_NAME}", body, meta)


def listing_html(title: str, items: list[Article], page_no: int, pages: int, prefix: str) -> str:
    def url(n: int) -> str:
        return f"{prefix}index.html" if n == 0 else f"{prefix}index_{n}.html"

    rows = "\n".join(f'<li><a href="{a.path}" target="_blank" title="{escape(a.title)}">{escape(a.title)}</a>'
                     f'<span class="date">{a.day:%Y-%m-%d}</span></li>' for a in items)
    pager = [f'<a href="{url(0)}">首页</a>']
    if page_no > 0:
        pager.append(f'<a href="{url(page_no - 1)}">上一页</a>')
    if page_no < pages - 1:
        pager.append(f'<a href="{url(page_no + 1)}">下一页</a>')
    pager.append(f'<a href="{url(pages - 1)}">尾页</a>')
    body = (f'<div class="position">您当前的位置：<a href="/">首页</a> &gt; {title}</div>\n'
            f'<div class="list_box"><h2>{title}</h2><ul class="list">\n{rows}\n</ul>\n'
            f'<div class="pager">共{pages}页 当前第{page_no + 1}页 {" ".join(pager)}</div></div>')
    return page(f"{title}-{SITE_NAME}", body)


def generate_site(root: Path, n: int, base_url: str, seed: int = 20251103) -> list[str]:
    """Write the site under ``root``; return the article URLs, newest first."""
    rng = random.Random(seed)
    articles = [make_article(i, n, rng) for i in range(n)]
    articles.sort(key=lambda a: (a.day, a.no), reverse=True)
    for i, a in enumerate(articles):
        target = root / a.path.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        newer = articles[i - 1] if i > 0 else None
        older = articles[i + 1] if i + 1 < len(articles) else None
        target.write_text(article_html(a, newer, older), encoding="utf-8")
    # one paginated listing per section, and the home page with the newest of each
    home_blocks = []
    for key, name in SECTIONS:
        items = [a for a in articles if a.section[0] == key]
        pages = max(1, -(-len(items) // PER_LISTING))
        folder = root / key
        folder.mkdir(parents=True, exist_ok=True)
        for p in range(pages):
            html = listing_html(name, items[p * PER_LISTING:(p + 1) * PER_LISTING], p, pages, f"/{key}/")
            (folder / ("index.html" if p == 0 else f"index_{p}.html")).write_text(html, encoding="utf-8")
        links = "".join(f'<li><a href="{a.path}">{escape(a.title)}</a><span>{a.day:%m-%d}</span></li>'
                        for a in items[:8])
        home_blocks.append(f'<div class="block"><h3><a href="/{key}/index.html">{name}</a>'
                           f'<a class="more" href="/{key}/index.html">更多&gt;&gt;</a></h3><ul>{links}</ul></div>')
    (root / "index.html").write_text(page(SITE_NAME, "\n".join(home_blocks)), encoding="utf-8")
    # robots.txt and a sitemap index with children of PER_SITEMAP URLs
    children = []
    for c in range(0, len(articles), PER_SITEMAP):
        name = f"sitemap_{c // PER_SITEMAP + 1}.xml"
        urls = "".join(f"<url><loc>{base_url}{a.path}</loc><lastmod>{a.day:%Y-%m-%d}</lastmod></url>\n"
                       for a in articles[c:c + PER_SITEMAP])
        (root / name).write_text('<?xml version="1.0" encoding="UTF-8"?>\n<urlset xmlns='
                                 f'"http://www.sitemaps.org/schemas/sitemap/0.9">\n{urls}</urlset>\n',
                                 encoding="utf-8")
        children.append(f"<sitemap><loc>{base_url}/{name}</loc><lastmod>{articles[c].day:%Y-%m-%d}</lastmod>"
                        "</sitemap>\n")
    (root / "sitemap.xml").write_text('<?xml version="1.0" encoding="UTF-8"?>\n<sitemapindex xmlns='
                                      f'"http://www.sitemaps.org/schemas/sitemap/0.9">\n{"".join(children)}'
                                      "</sitemapindex>\n", encoding="utf-8")
    (root / "robots.txt").write_text(f"User-agent: *\nDisallow: /private/\nSitemap: {base_url}/sitemap.xml\n",
                                     encoding="utf-8")
    return [base_url + a.path for a in articles]


# ----------------------------------------------------------------------------------------- server
def serve(root: str) -> None:
    """Child process: a Twisted static site over ``root`` on 127.0.0.1; prints its port."""
    from twisted.internet import reactor
    from twisted.web import server, static

    resource = static.File(root)
    resource.contentTypes = {**resource.contentTypes, ".html": "text/html; charset=utf-8",
                             ".xml": "application/xml", ".txt": "text/plain; charset=utf-8"}
    site = server.Site(resource)
    site.log = lambda *a, **k: None  # no access log
    port = reactor.listenTCP(0, site, interface="127.0.0.1", backlog=256)
    print(port.getHost().port, flush=True)
    reactor.run()


def start_server(root: Path) -> tuple[subprocess.Popen[str], int]:
    proc = subprocess.Popen([sys.executable, __file__, "_serve", str(root)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line.strip().isdigit():
        proc.kill()
        raise SystemExit("the benchmark site did not start")
    return proc, int(line)


# ----------------------------------------------------------------------------------------- plain Scrapy
def plain_crawl(url_file: str, concurrency: int, per_domain: int) -> None:
    """Child process: fetch every URL of ``url_file`` with an empty callback; print JSON figures."""
    import scrapy
    from scrapy import signals
    from scrapy.crawler import CrawlerProcess

    urls = Path(url_file).read_text(encoding="utf-8").split()
    figures: dict[str, float] = {}

    class PlainSpider(scrapy.Spider):
        name = "plain"

        async def start(self):  # type: ignore[no-untyped-def]
            for url in urls:
                yield scrapy.Request(url, callback=self.parse)

        def parse(self, response):  # type: ignore[no-untyped-def]
            return None

    process = CrawlerProcess({
        "TWISTED_REACTOR": "twisted.internet.asyncioreactor.AsyncioSelectorReactor",
        "CONCURRENT_REQUESTS": concurrency, "CONCURRENT_REQUESTS_PER_DOMAIN": per_domain,
        "DOWNLOAD_DELAY": 0, "AUTOTHROTTLE_ENABLED": False, "ROBOTSTXT_OBEY": False, "COOKIES_ENABLED": False,
        "LOG_LEVEL": "WARNING", "TELNETCONSOLE_ENABLED": False, "REMOTE_CONTROL_ENABLED": False,
        "REQUEST_FINGERPRINTER_IMPLEMENTATION": "2.7",
    })
    crawler = process.create_crawler(PlainSpider)
    def opened(spider: scrapy.Spider) -> None:
        figures["t0"] = time.perf_counter()

    def closed(spider: scrapy.Spider) -> None:
        figures["t1"] = time.perf_counter()

    # Scrapy keeps weak references to signal handlers: these live until the crawl ends
    crawler.signals.connect(opened, signal=signals.spider_opened)
    crawler.signals.connect(closed, signal=signals.spider_closed)
    process.crawl(crawler)
    process.start()
    stats = crawler.stats.get_stats() if crawler.stats else {}
    print(json.dumps({"pages": stats.get("response_received_count", 0),
                      "crawl_seconds": figures.get("t1", 0) - figures.get("t0", 0)}))


# ----------------------------------------------------------------------------------------- measuring
class RssMonitor:
    """Polls the process and its descendants (the extraction workers and their fork server) until
    the process ends: memory as the sum of their PSS (shared pages counted once, split between the
    processes sharing them) and CPU as the sum of their user + system time.

    The workers are not children of the crawl process but of multiprocessing's fork server, which
    nobody waits for, so getrusage(RUSAGE_CHILDREN) would miss their CPU; it is read from
    /proc/PID/stat instead, the last value seen of every process.
    """

    def __init__(self, pid: int, interval: float = 0.2) -> None:
        self.pid = pid
        self.interval = interval
        self.samples: list[tuple[float, int]] = []  # (monotonic time, PSS kB of the whole tree)
        self.peak_kb = 0
        self.processes = 0  # most processes seen at once
        self._cpu: dict[int, float] = {}
        self._tick = os.sysconf("SC_CLK_TCK")
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    @property
    def cpu_seconds(self) -> float:
        return sum(self._cpu.values())

    def _tree(self) -> list[int]:
        parent: dict[int, int] = {}
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    stat = (entry / "stat").read_text()
                except OSError:
                    continue
                parent[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
        tree, frontier = [self.pid], [self.pid]
        while frontier:
            frontier = [pid for pid, ppid in parent.items() if ppid in frontier]
            tree += frontier
        return tree

    def _run(self) -> None:
        while not self._stop.is_set():
            if not Path(f"/proc/{self.pid}").exists():
                return
            total = 0
            tree = self._tree()
            for pid in tree:
                try:
                    rollup = Path(f"/proc/{pid}/smaps_rollup").read_text()
                    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                except OSError:
                    continue
                pss = re.search(r"^Pss:\s+(\d+)", rollup, re.M)
                total += int(pss.group(1)) if pss else 0
                self._cpu[pid] = (int(fields[11]) + int(fields[12])) / self._tick  # utime, stime
            if total:
                self.samples.append((time.monotonic(), total))
                self.peak_kb = max(self.peak_kb, total)
                self.processes = max(self.processes, len(tree))
            self._stop.wait(self.interval)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def rss_at(self, when: float) -> int | None:
        before = [kb for t, kb in self.samples if t <= when]
        return before[-1] if before else None


@dataclass
class Run:
    pages: int
    wall_seconds: float
    crawl_seconds: float | None
    peak_mb: float
    cpu_seconds: float = 0.0  # user + system time of the crawl process and its descendants
    rss_mb: dict[int, float | None] = field(default_factory=dict)  # percent of articles -> MB
    notes: list[str] = field(default_factory=list)
    steady_rate: float | None = None


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_plain(url_file: Path, concurrency: int, per_domain: int) -> Run:
    cpu0 = children_cpu()
    t0 = time.monotonic()
    proc = subprocess.Popen([sys.executable, __file__, "_plain", str(url_file), str(concurrency), str(per_domain)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    monitor = RssMonitor(proc.pid)
    out, err = proc.communicate()
    wall = time.monotonic() - t0
    monitor.stop()
    if proc.returncode != 0:
        raise SystemExit(f"plain Scrapy crawl failed (exit {proc.returncode}):\n{err[-2000:]}")
    data = json.loads(out.strip().splitlines()[-1])
    return Run(pages=int(data["pages"]), wall_seconds=wall, crawl_seconds=data["crawl_seconds"],
               peak_mb=monitor.peak_kb / 1024, cpu_seconds=max(children_cpu() - cpu0, monitor.cpu_seconds))


def chainwatch_env(home: Path, concurrency: int, per_domain: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHAINWATCH_")}
    env.update({
        "CHAINWATCH_HOME": str(home), "CHAINWATCH_ALLOW_PRIVATE_NETWORKS": "1",
        "CHAINWATCH_CONTACT": "bench@example.org",
        "CHAINWATCH_CRAWL_AUTOTHROTTLE": "0", "CHAINWATCH_CRAWL_DOWNLOAD_DELAY": "0",
        "CHAINWATCH_CRAWL_CONCURRENCY": str(concurrency),
        "CHAINWATCH_CRAWL_CONCURRENCY_PER_DOMAIN": str(per_domain),
    })
    env["PYTHONPATH"] = str(REPO) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env


_PROGRESS = re.compile(r"pages (\d+), new articles (\d+), duplicates (\d+), errors (\d+)")


def run_pipeline(site_url: str, n: int, home: Path, concurrency: int, per_domain: int,
                 profile: Path | None = None) -> Run:
    env = chainwatch_env(home, concurrency, per_domain)
    cli = [sys.executable, "-m", "chainwatch"]
    # enough listing pages to reach every article, whichever way discovery chooses
    add = subprocess.run([*cli, "sources", "add", site_url, "--key", "bench",
                          "--max-pages", str(n // PER_LISTING + 2)],
                         env=env, capture_output=True, text=True, cwd=REPO, check=False)
    if add.returncode != 0:
        raise SystemExit(f"chainwatch sources add failed (exit {add.returncode}):\n{add.stderr[-2000:]}")
    crawl_cmd = [*cli, "crawl", "--source", "bench"]
    if profile is not None:
        py_spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
        crawl_cmd = [py_spy, "record", "--rate", "50", "--gil", "--threads", "--format", "raw",
                     "--output", str(profile), "--", *crawl_cmd]
    cpu0 = children_cpu()
    t0 = time.monotonic()
    proc = subprocess.Popen(crawl_cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO)
    monitor = RssMonitor(proc.pid)
    progress: list[tuple[float, int]] = [(t0, 0)]
    err_lines: list[str] = []

    def read_stderr() -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            err_lines.append(line)
            m = _PROGRESS.search(line)
            if m:
                progress.append((time.monotonic(), int(m.group(2))))

    reader = threading.Thread(target=read_stderr, daemon=True)
    reader.start()
    out = proc.stdout.read() if proc.stdout else ""
    proc.wait()
    wall = time.monotonic() - t0
    reader.join()
    monitor.stop()
    if proc.returncode != 0:
        raise SystemExit(f"chainwatch crawl failed (exit {proc.returncode}):\n{''.join(err_lines)[-3000:]}\n{out}")
    total = re.search(r"^total\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)", out, re.M)
    pages, new, dups, errors = (int(x) for x in total.groups()) if total else (0, 0, 0, 0)
    run = Run(pages=new, wall_seconds=wall, crawl_seconds=None, peak_mb=monitor.peak_kb / 1024,
              cpu_seconds=max(children_cpu() - cpu0, monitor.cpu_seconds))
    run.notes.append(f"{monitor.processes} processes at most (crawl, fork server, extraction workers); "
                     "memory is their summed PSS")
    run.notes.append(f"{pages} pages fetched (articles, listings, sitemaps), {new} stored, "
                     f"{dups} near-duplicates, {errors} errors")
    # RSS when the stored articles passed 25/50/75 % (from the progress lines), and at the end
    for pct in (25, 50, 75):
        when = next((t for t, stored in progress if stored >= n * pct / 100), None)
        kb = monitor.rss_at(when) if when is not None else None
        run.rss_mb[pct] = kb / 1024 if kb else None
    run.rss_mb[100] = monitor.samples[-1][1] / 1024 if monitor.samples else None
    # steady rate between the first and last progress lines past 10 % and before 90 %
    mid = [(t, s) for t, s in progress if n * 0.1 <= s <= n * 0.9]
    if len(mid) >= 2 and mid[-1][1] > mid[0][1]:
        run.steady_rate = (mid[-1][1] - mid[0][1]) / (mid[-1][0] - mid[0][0])
    return run


def summarize_profile(path: Path, top: int = 15) -> None:
    """Self and inclusive shares of the most sampled functions in py-spy's raw (collapsed) stacks."""
    own: dict[str, int] = {}
    inclusive: dict[str, int] = {}
    threads: dict[str, int] = {}
    total = 0
    for line in path.read_text(encoding="utf-8").splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        frames = stack.split(";")
        thread = re.sub(r"^thread \(\d+\): ", "", frames[0])
        threads[thread] = threads.get(thread, 0) + n
        total += n
        frames = frames[1:] or frames
        own[frames[-1]] = own.get(frames[-1], 0) + n
        for frame in set(frames):
            inclusive[frame] = inclusive.get(frame, 0) + n
    if not total:
        print("profile: no samples")
        return
    print(f"\nprofile ({total} samples holding the GIL): by thread " + ", ".join(
        f"{t} {100 * c / total:.0f}%" for t, c in sorted(threads.items(), key=lambda kv: -kv[1])[:5]))
    print("  self time:")
    for frame, c in sorted(own.items(), key=lambda kv: -kv[1])[:top]:
        print(f"    {100 * c / total:5.1f}%  {frame}")
    print("  inclusive, chainwatch's own code:")
    mine = [(f, c) for f, c in inclusive.items()
            if re.search(r"\((chainwatch|crawler|spiders|storage|tagging)/", f)]
    for frame, c in sorted(mine, key=lambda kv: -kv[1])[:top]:
        print(f"    {100 * c / total:5.1f}%  {frame}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--pages", type=int, default=10_000)
    ap.add_argument("--quick", action="store_true", help="300 pages, for a CI smoke run")
    ap.add_argument("--concurrency", type=int, default=32, help="CONCURRENT_REQUESTS (chainwatch's default)")
    ap.add_argument("--per-domain", type=int, default=4, help="CONCURRENT_REQUESTS_PER_DOMAIN (chainwatch's default)")
    ap.add_argument("--skip-plain", action="store_true")
    ap.add_argument("--profile", type=Path, help="run the pipeline crawl under py-spy, raw stacks to this file")
    ap.add_argument("--keep", action="store_true", help="keep the temporary site and CHAINWATCH_HOME")
    args = ap.parse_args()
    n = 300 if args.quick else args.pages

    work = Path(tempfile.mkdtemp(prefix="cw-bench-crawl-"))
    site_dir = work / "site"
    site_dir.mkdir()
    server, port = start_server(site_dir)
    site_url = f"http://127.0.0.1:{port}/"
    try:
        t0 = time.perf_counter()
        urls = generate_site(site_dir, n, site_url.rstrip("/"))
        gen_s = time.perf_counter() - t0
        url_file = work / "urls.txt"
        url_file.write_text("\n".join(urls), encoding="utf-8")
        print(f"site: {n} articles generated in {gen_s:.1f} s under {site_dir}, served at {site_url}",
              file=sys.stderr, flush=True)
        plain = None if args.skip_plain else run_plain(url_file, args.concurrency, args.per_domain)
        if plain:
            print(f"plain Scrapy: {plain.pages} pages in {plain.wall_seconds:.1f} s", file=sys.stderr, flush=True)
        pipe = run_pipeline(site_url, n, work / "home", args.concurrency, args.per_domain, args.profile)
    finally:
        server.terminate()
        server.wait()
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)

    def rate(r: Run | None) -> float | None:
        return r.pages / r.wall_seconds if r and r.wall_seconds else None

    def fmt(v: float | None, spec: str = ".1f") -> str:
        return "-" if v is None else format(v, spec)

    print(f"\ncrawl benchmark: {n} article pages, concurrency {args.concurrency} ({args.per_domain} per domain), "
          f"no AutoThrottle, no delay, {os.cpu_count()} cores")
    print(f"{'run':<22} {'pages':>7} {'wall s':>8} {'pages/s':>9} {'steady/s':>9} {'CPU ms/page':>12} "
          f"{'peak MB':>12}")
    for label, r, steady in (("plain Scrapy", plain, plain and plain.pages / plain.crawl_seconds
                              if plain and plain.crawl_seconds else None),
                             ("chainwatch pipeline", pipe, pipe.steady_rate)):
        if r is None:
            continue
        cpu_ms = 1000 * r.cpu_seconds / r.pages if r.pages else None
        print(f"{label:<22} {r.pages:>7} {r.wall_seconds:>8.1f} {fmt(rate(r)):>9} {fmt(steady):>9} "
              f"{fmt(cpu_ms):>12} {r.peak_mb:>12.0f}")
    ratio = rate(pipe) / rate(plain) if plain and rate(plain) else None
    print(f"{'ratio pipeline/plain':<22} {fmt(ratio, '.3f'):>27}   (goal >= 0.5)")
    load = os.getloadavg()
    print(f"load average during the run: {load[0]:.1f} (1 min), {load[1]:.1f} (5 min) on {os.cpu_count()} cores"
          " -- other work on the machine slows both crawls; CPU ms/page does not depend on it")
    if args.profile:
        print("pipeline RSS: not measured under --profile (the process watched is py-spy)")
    else:
        print("pipeline RSS at stored articles  " + "  ".join(
            f"{pct}%: {fmt(mb, '.0f')} MB" for pct, mb in pipe.rss_mb.items())
            + f"   peak {pipe.peak_mb:.0f} MB (goal < 500 MB)")
    for note in pipe.notes:
        print(f"pipeline: {note}")
    if args.profile:
        summarize_profile(args.profile)
        print(f"raw stacks: {args.profile}")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "_serve":
        serve(sys.argv[2])
    elif len(sys.argv) > 1 and sys.argv[1] == "_plain":
        plain_crawl(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
    else:
        main()

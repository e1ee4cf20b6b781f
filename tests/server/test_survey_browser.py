"""The satisfaction survey in a real browser: headless Chromium (Debian's `chromium` and
`chromium-driver`) driven by Selenium opens the link of the survey e-mail on a phone-sized screen,
answers it and sees the thank-you page; the answer lands on the work order.

Skipped, with the reason, where the Chromium binaries are not installed. Selenium never downloads
a browser or a driver here: both are given by path.
"""

from __future__ import annotations

import asyncio
import re
import shutil
import socket
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, replace

import pytest
from aiohttp import web
from selenium import webdriver
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait
from sqlalchemy import select

from server import api
from server.app import build_app, make_runner
from tests.lifecycle import close, order
from ticketing.desk import Desk
from ticketing.model import Inbound, Sender
from ticketing.orm import Event, OutboxMessage, Survey

PHONE = {"width": 375, "height": 812, "pixelRatio": 3.0}  # an iPhone X-sized screen
LEVELS = ["非常满意", "满意", "一般", "不满意", "非常不满意"]
COMMENT = "工程师很耐心，半小时就修好了"
WAIT_SECONDS = 15


def _binary(*names: str) -> str | None:
    """The path of the first of `names` on PATH or in /usr/bin (where Debian puts them)."""
    for name in names:
        found = shutil.which(name) or shutil.which(name, path="/usr/bin")
        if found:
            return found
    return None


@pytest.fixture(scope="session")
def chrome() -> Iterator[WebDriver]:
    """One headless Chromium for the session, with a phone's screen (375×812 CSS pixels)."""
    browser = _binary("chromium", "chromium-browser")
    driver_path = _binary("chromedriver")
    if browser is None or driver_path is None:
        pytest.skip("needs Debian's chromium and chromium-driver "
                    f"(chromium: {browser or 'missing'}, chromedriver: {driver_path or 'missing'})")
    options = webdriver.ChromeOptions()
    options.binary_location = browser
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
                     "--disable-gpu", "--lang=zh-CN"):
        options.add_argument(argument)
    options.add_experimental_option("mobileEmulation", {"deviceMetrics": PHONE})
    driver = webdriver.Chrome(service=Service(executable_path=driver_path), options=options)
    driver.set_page_load_timeout(WAIT_SECONDS)
    try:
        yield driver
    finally:
        driver.quit()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Closed:
    """A ticket reported by e-mail and closed, with the survey link its user was mailed."""

    desk: Desk
    ticket_no: str
    link: str


@pytest.fixture
async def closed_ticket(desk: Desk) -> AsyncIterator[Closed]:
    """The app on a real port whose public URL is that port, so the mailed link works as is."""
    port = _free_port()
    desk = replace(desk, public_url=f"http://127.0.0.1:{port}")
    app = build_app(desk, dispatch_in_background=False)
    runner = make_runner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        result = await app[api.INTAKE].receive(Inbound(
            channel_detail="email", external_id="<browser-survey-1@lzjy.gov.cn>",
            received_at=desk.clock(), text="财务科打印机卡纸，打不出报表", subject="打印机故障",
            sender=Sender(name="李四", email="lisi@lzjy.gov.cn", org_name="横州市财政局"),
        ))
        assert result.ticket_no is not None, result
        await close(desk, result.ticket_no)
        async with desk.sessions() as session:
            mail = await session.scalar(select(OutboxMessage).where(
                OutboxMessage.kind == "survey"))
            survey = await session.scalar(select(Survey))
        assert mail is not None and survey is not None
        assert (mail.channel, mail.recipient) == ("email", "lisi@lzjy.gov.cn")
        links = re.findall(r"http://\S+/survey/\S+", mail.body)
        assert links == [f"http://127.0.0.1:{port}/survey/{survey.token}"], mail.body
        yield Closed(desk, result.ticket_no, links[0])
    finally:
        await runner.cleanup()


def _fill_in_on_a_phone(driver: WebDriver, link: str, ticket_no: str) -> None:
    """Open the survey, check it fits a phone, choose 满意, write a comment and submit."""
    driver.get(link)
    assert driver.title == "服务满意度调查"
    assert driver.find_element(By.TAG_NAME, "h1").text == f"工单 {ticket_no} 服务满意度调查"
    choices = driver.find_elements(By.CSS_SELECTOR, "label.choice")
    assert [c.text.strip() for c in choices] == LEVELS
    width = driver.execute_script("return window.innerWidth")
    assert width == PHONE["width"]
    # nothing sticks out sideways: no horizontal scrolling on a phone
    assert driver.execute_script("return document.documentElement.scrollWidth") <= width
    button = driver.find_element(By.CSS_SELECTOR, "button[type=submit]")
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", button)
    assert button.is_displayed() and button.text == "提交评价"
    assert button.rect["x"] >= 0 and button.rect["x"] + button.rect["width"] <= width
    assert button.rect["height"] >= 40  # a thumb-sized target (CSS pixels)

    # a label is tapped, not the small radio inside it
    (satisfied,) = [c for c in choices if c.text.strip() == "满意"]
    satisfied.click()
    radio = driver.find_element(By.CSS_SELECTOR, "input[name=satisfaction][value=satisfied]")
    assert radio.is_selected()
    checked = driver.find_elements(By.CSS_SELECTOR, "input[name=satisfaction]:checked")
    assert len(checked) == 1
    driver.find_element(By.ID, "comment").send_keys(COMMENT)
    button.click()
    WebDriverWait(driver, WAIT_SECONDS, ignored_exceptions=[WebDriverException]).until(
        expected_conditions.title_is("感谢您的评价"))
    assert driver.find_element(By.TAG_NAME, "h1").text == "感谢您的评价"
    assert driver.find_element(By.TAG_NAME, "p").text == (
        f"我们已收到您对工单 {ticket_no} 的评价（满意）。")


async def test_a_user_answers_the_survey_on_a_phone(
    chrome: WebDriver, closed_ticket: Closed
) -> None:
    # Selenium blocks: it runs in a thread while this loop serves the pages
    await asyncio.to_thread(_fill_in_on_a_phone, chrome, closed_ticket.link,
                            closed_ticket.ticket_no)
    done = await order(closed_ticket.desk, closed_ticket.ticket_no)
    assert (done.rated, done.satisfaction, done.follow_up_feedback) == (
        True, "satisfied", COMMENT)
    async with closed_ticket.desk.sessions() as session:
        survey = await session.scalar(select(Survey))
    assert survey is not None
    assert (survey.satisfaction, survey.comment) == ("satisfied", COMMENT)
    assert survey.answered_at is not None


def _answer_twice(driver: WebDriver, link: str, ticket_no: str) -> None:
    """The link opened in two tabs: answered in one, open it again, then submit the other."""
    first = driver.current_window_handle
    driver.switch_to.new_window("tab")
    try:
        driver.get(link)  # left open, unanswered
        stale = driver.current_window_handle
        driver.switch_to.window(first)
        _fill_in_on_a_phone(driver, link, ticket_no)
        driver.get(link)
        assert driver.find_element(By.TAG_NAME, "h1").text == "感谢您的评价"
        assert driver.find_element(By.TAG_NAME, "p").text == (
            f"工单 {ticket_no} 的评价已经提交，不能重复提交。")
        assert driver.find_elements(By.TAG_NAME, "form") == []
        driver.switch_to.window(stale)
        driver.find_element(By.XPATH, "//label[normalize-space()='非常不满意']").click()
        driver.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
        # the old page's nodes go away under a finder mid-navigation: retry until the new one
        WebDriverWait(driver, WAIT_SECONDS, ignored_exceptions=[WebDriverException]).until(
            lambda d: "不能重复提交" in d.find_element(By.TAG_NAME, "main").text)
        assert driver.find_element(By.TAG_NAME, "p").text == (
            f"工单 {ticket_no} 的评价已经提交，不能重复提交。")
        driver.close()
    finally:
        driver.switch_to.window(first)
    driver.get(link.rsplit("/", 1)[0] + "/nonsense")  # a link cut short
    assert driver.find_element(By.TAG_NAME, "h1").text == "链接无效"


async def test_the_link_answers_only_once(chrome: WebDriver, closed_ticket: Closed) -> None:
    await asyncio.to_thread(_answer_twice, chrome, closed_ticket.link, closed_ticket.ticket_no)
    done = await order(closed_ticket.desk, closed_ticket.ticket_no)
    assert (done.satisfaction, done.follow_up_feedback) == ("satisfied", COMMENT)
    async with closed_ticket.desk.sessions() as session:
        actions = list(await session.scalars(select(Event.action).where(
            Event.work_order_id == done.id, Event.action.in_(["rated", "follow_up_needed"]))))
    assert actions == ["rated"]  # the refused 非常不满意 asked for no follow-up call


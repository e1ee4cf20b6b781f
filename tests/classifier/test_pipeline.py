"""The shipped pipeline: loads offline, extracts, overrides, survives odd input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from classifier.pipeline import MODEL_DIR, Classifier
from classifier.triage import CATEGORIES, LEVELS

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def model() -> Classifier:
    return Classifier.load()


def test_the_model_ships_inside_the_package() -> None:
    assert (MODEL_DIR / "config.cfg").is_file()
    assert (MODEL_DIR / "level" / "model").is_file()


def test_loads_and_triages_with_the_network_cut_off() -> None:
    """A fresh interpreter where any socket use raises: load and triage must not care."""
    script = (
        "import socket\n"
        "def refuse(*a, **k):\n"
        "    raise RuntimeError('network used')\n"
        "socket.socket.connect = refuse\n"
        "socket.create_connection = refuse\n"
        "socket.getaddrinfo = refuse\n"
        "from classifier import Classifier\n"
        "t = Classifier.load().triage('服务器宕机了')\n"
        "print(t.level, t.source)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120,
        env={"PATH": "/usr/bin:/bin", "HF_HUB_OFFLINE": "1"},
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["P1", "model"]


def test_result_carries_every_label_and_its_scores(model: Classifier) -> None:
    t = model.triage("财务科的奔图M6202打印机卡纸了，打不出报表")
    assert t.level in LEVELS and t.category == "peripheral"
    assert set(t.scores["level"]) == set(LEVELS)
    assert set(t.scores["category"]) == set(CATEGORIES)
    assert abs(sum(t.scores["level"].values()) - 1) < 0.01
    assert abs(sum(t.scores["category"].values()) - 1) < 0.01
    assert 0 < t.confidence <= 1
    assert t.source == "model"


@pytest.mark.parametrize(
    "text,brand,model_no",
    [
        ("奔图M6202打印机一直卡纸", "奔图", "M6202"),
        ("统信UOS 1070 开机进不去桌面", "统信UOS", "1070"),
        ("ＷＰＳ打开文档就闪退", "WPS Office", None),  # full-width alias
        ("达梦DM8数据库连不上", "达梦", None),
    ],
)
def test_brand_and_model_by_catalog_alias(
    model: Classifier, text: str, brand: str, model_no: str | None
) -> None:
    t = model.triage(text)
    assert t.brand == brand
    if model_no:
        assert t.model == model_no


@pytest.mark.parametrize(
    "text,district,same_city",
    [
        ("南宁市青秀区民族大道的办公室电脑蓝屏", "青秀区", True),
        ("我们在横县，打印机卡纸", "横州市", False),  # former name of a county-level city
        ("柳州柳江区教育局的网络断了", "柳江区", True),  # a district that used to be a county
        ("融水苗族自治县政府办的电脑开不了机", "融水苗族自治县", False),
    ],
)
def test_location_district_vs_county(
    model: Classifier, text: str, district: str, same_city: bool
) -> None:
    t = model.triage(text)
    assert t.location is not None
    assert (t.location.district, t.location.same_city) == (district, same_city)


def test_security_floor_overrides_the_model_and_says_so(model: Classifier) -> None:
    incidents = (
        "电脑中了勒索病毒，请问怎么处理",
        "有点小问题，好像数据丢失了",
        "疑似泄密，请问怎么办",
    )
    for text in incidents:
        t = model.triage(text)
        assert t.level in ("P1", "P2"), text
        if max(t.scores["level"], key=t.scores["level"].get) in ("P3", "P4"):
            assert "security_min_p2" in t.overrides


def test_floors_stay_out_of_harmless_contexts(model: Classifier) -> None:
    for text in ("下周想请你们来讲讲勒索病毒怎么防范", "服务器宕机应急演练方案能发个模板吗"):
        assert model.triage(text).overrides == (), text


def test_named_server_trouble_is_never_p4(model: Classifier) -> None:
    for text in ("请问服务器有点问题怎么办", "数据库报错了怎么处理", "问下服务器宕了怎么弄"):
        t = model.triage(text)
        assert t.level != "P4", text
        if max(t.scores["level"], key=t.scores["level"].get) == "P4":
            assert "server_outage_not_p4" in t.overrides


@pytest.mark.parametrize("text", ["", "   ", "\n\t"])
def test_empty_input_is_a_clear_result(model: Classifier, text: str) -> None:
    t = model.triage(text)
    assert (t.level, t.category, t.confidence, t.needs_review) == ("P4", "other", 0.0, True)
    assert t.overrides == ("empty_text",)


def test_huge_and_foreign_input_do_not_crash(model: Classifier) -> None:
    huge = "打印机卡纸。" * 200_000  # 1.2 million characters
    foreign = ["Hello, my printer is broken", "Привет", "🙂🙂🙂", "12345", "<xml>&amp;</xml>"]
    results = model.triage_many([huge, *foreign])
    assert results[0].category == "peripheral"
    for t in results:
        assert t.level in LEVELS and t.category in CATEGORIES


def test_triage_many_keeps_order_and_matches_single(model: Classifier) -> None:
    texts = ["服务器宕机了", "", "请问WPS怎么设置字体", "打印机卡纸"]
    many = model.triage_many(texts)
    assert [t.level for t in many] == [model.triage(t).level for t in texts]


def test_cli_prints_json() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "server", "classify", "财务科的打印机卡纸了"],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["category"] == "peripheral" and data["source"] == "model"


def test_cli_evaluates_a_corpus_file(tmp_path: Path) -> None:
    sample = tmp_path / "s.jsonl"
    sample.write_text(
        '{"text": "服务器宕机了，全单位都用不了", "channel": "phone", "level": "P1", '
        '"category": "server", "complaint": false}\n'
        '{"text": "请问WPS怎么设置默认字体", "channel": "wechat", "level": "P4", '
        '"category": "office", "complaint": false}\n',
        encoding="utf-8",
    )
    done = subprocess.run(
        [sys.executable, "-m", "server", "classify", "--evaluate", str(sample)],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "level      accuracy" in done.stdout and "gold \\ predicted" in done.stdout
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "x", "level": "P9"}\n', encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "server", "classify", "--evaluate", str(bad)],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 2 and "bad.jsonl:1" in done.stderr

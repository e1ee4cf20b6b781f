"""Region lookups against the real config/regions.toml."""

import pytest

from classifier import District, Location, Regions


def test_counts_match_the_file_header(regions: Regions) -> None:
    assert len(regions.cities) == 14
    assert len(regions.districts) == 111
    assert sum(d.same_city for d in regions.districts) == 41


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("青秀区", "450103"),  # full name
        ("青秀", "450103"),  # without suffix
        ("横县", "450181"),  # former name of 横州市
        ("武鸣县", "450110"),
        ("宜州市", "451203"),  # former county-level city, now 宜州区
        ("450103", "450103"),  # code
        ("融水", "450225"),  # autonomous county without 苗族自治县
        ("南宁市青秀区", "450103"),  # city prefix is split off
        ("广西壮族自治区柳州市柳江区", "450206"),
    ],
)
def test_lookup(regions: Regions, name: str, expected: str) -> None:
    found = regions.lookup(name)
    assert found is not None
    assert found.code == expected


def test_lookup_returns_full_record(regions: Regions) -> None:
    assert regions.lookup("青秀") == District("青秀区", "450103", "南宁市", "南宁", True)


def test_lookup_with_city_context(regions: Regions) -> None:
    assert regions.lookup("城中", city="柳州市") == regions.lookup("450202")
    assert regions.lookup("城中", city="柳州") is not None
    assert regions.lookup("城中", city="450200") is not None
    # a district of another city is refused
    assert regions.lookup("青秀区", city="柳州市") is None
    assert regions.lookup("450103", city="桂林") is None


def test_lookup_unknown_or_too_short(regions: Regions) -> None:
    assert regions.lookup("朝阳区") is None
    assert regions.lookup("横") is None  # one-char short form of 横县 is not accepted
    assert regions.lookup("藤") is None
    assert regions.lookup("藤县") is not None


@pytest.mark.parametrize("name", ["横州市", "横县", "阳朔县", "岑溪市", "融水苗族自治县", "合浦县"])
def test_counties_are_remote(regions: Regions, name: str) -> None:
    found = regions.lookup(name)
    assert found is not None and found.same_city is False


@pytest.mark.parametrize("name", ["青秀区", "武鸣区", "柳江区", "临桂区", "宜州区", "田阳区"])
def test_districts_are_same_city(regions: Regions, name: str) -> None:
    found = regions.lookup(name)
    assert found is not None and found.same_city is True


@pytest.mark.parametrize(
    ("text", "district"),
    [
        ("南宁市青秀区民族大道100号", "青秀区"),
        ("我们在横县，麻烦派人过来", "横州市"),
        ("柳州市柳江区拉堡镇政府", "柳江区"),
        ("百色田阳那边的电脑坏了", "田阳区"),
        ("地址：桂林市临桂区西城大道", "临桂区"),
        ("防城港市港口区行政中心", "港口区"),
        ("在柳州城中这边", "城中区"),  # risky short name with its city right before it
        ("河池宜州市的财政局", "宜州区"),  # former name with city
        ("融水县医院信息科", "融水苗族自治县"),
        ("我们单位在武鸣", "武鸣区"),
        ("玉林北流市教育局", "北流市"),
        ("来宾市兴宾区", "兴宾区"),
    ],
)
def test_find_in_text(regions: Regions, text: str, district: str) -> None:
    found = regions.find_in_text(text)
    assert found is not None
    assert found.name == district


@pytest.mark.parametrize(
    "text",
    [
        "进城中途车坏了",  # 城中 inside an unrelated phrase
        "江南的雨下个不停",  # 江南 as a common word, no city
        "资源管理器打不开",  # 资源 is also 资源县
        "防城港市",  # 防城 inside the city name, and no district
        "钦州永福东大街",  # 永福 is a 桂林 county, here a street in 钦州
        "兴业银行旁边",
        "安居乐业",
        "南宁市",  # a city alone: district unknown
        "打印机卡纸了",
    ],
)
def test_find_in_text_negative(regions: Regions, text: str) -> None:
    assert regions.find_in_text(text) is None


def test_find_city(regions: Regions) -> None:
    assert regions.find_city("南宁市的打印机坏了") == "南宁市"
    assert regions.find_city("我们在横县") == "南宁市"
    assert regions.find_city("柳州这边") == "柳州市"
    assert regions.find_city("来宾很多，会议室坐不下") is None  # 来宾 = guests
    assert regions.find_city("钦州永福东大街") == "钦州市"
    assert regions.find_city("电脑坏了") is None


def test_to_location(regions: Regions) -> None:
    d = regions.lookup("横县")
    assert d is not None
    assert regions.to_location(d) == Location("南宁市", "横州市", "450181", False)

"""Names and codes used by the demo-town generator.

Everything here is plain data: the administrative names and codes of the two towns, the village
names, the character lists people's names are drawn from, and the Chinese wording of places,
compounds, incident categories and incident summaries. Keeping the wording in one place keeps the
generator modules about geometry and numbers.
"""

from __future__ import annotations

from dataclasses import dataclass

COUNTY_CODE = "331181"  # 龙泉市
"""Six-digit county code (统计用区划代码 prefix) of 龙泉市."""

STATION_ID = "S01"
STATION_CODE = COUNTY_CODE + "510100"
"""Twelve-digit station code: county code + "51" (派出所) + four-digit sequence."""
STATION_NAME = "龙泉市公安局八都派出所"
STATION_SHORT_NAME = "八都派出所"

CN_DIGITS = "一二三四五六七八九十"


@dataclass(frozen=True)
class TownSpec:
    """One town (乡镇) of the demo town.

    Attributes
    ----------
    name, code3, level
        Chinese name, the three digits that follow the county code, and "镇" or "乡".
    centre_village
        Name of the village holding the town seat.
    villages
        Names of the other villages of the town (the generator places them by geography).
    """

    name: str
    code3: str
    level: str
    centre_village: str
    villages: tuple[str, ...]

    @property
    def code(self) -> str:
        """Nine-digit town code."""
        return COUNTY_CODE + self.code3

    @property
    def id(self) -> str:
        """Business id, "T" + the three town digits."""
        return "T" + self.code3

    @property
    def n_villages(self) -> int:
        """Number of villages, the centre village included."""
        return 1 + len(self.villages)


# "东灌底村" and "西灌底村" are given to a west/east pair of neighbouring villages of the 镇; the
# other names are dealt out in a seeded order.
ZHEN = TownSpec(
    name="八都镇",
    code3="102",
    level="镇",
    centre_village="八都社区",
    villages=(
        "东灌底村",
        "西灌底村",
        "麻连岱村",
        "上田村",
        "坪田村",
        "溪口村",
        "墩头村",
        "岱根村",
        "大坑村",
        "水塔村",
        "枫坪村",
        "杨山头村",
        "双溪村",
        "官田村",
        "庄后村",
        "新亭村",
    ),
)
XIANG = TownSpec(
    name="竹垟畲族乡",
    code3="203",
    level="乡",
    centre_village="竹垟村",
    villages=(
        "黄南村",
        "横溪村",
        "大赛村",
        "上洋村",
        "盖竹村",
        "小梅坑村",
        "金川村",
        "岩樟村",
        "石坑村",
        "茶丰村",
        "高坪村",
        "半岭村",
    ),
)
TOWNS = (ZHEN, XIANG)
EAST_WEST_PAIR = ("西灌底村", "东灌底村")


def short(village_name: str) -> str:
    """Village name without its 村/社区 suffix, as used in place names.

    Examples
    --------
    >>> short("东灌底村"), short("八都社区")
    ('东灌底', '八都')
    """
    return village_name.removesuffix("社区").removesuffix("村")


COUNTY_ROAD_NAME = "X627八竹线"
TOWN_STREETS = ("八都老街", "八都新街")

# Common surnames of southern Zhejiang, with the She (畲族) surnames 蓝, 雷, 钟 among them.
SURNAMES = "吴叶李张徐毛季周林刘陈何曾蓝雷钟王杨黄胡朱金郑项潘柳练管范严邱汤"
GIVEN_CHARS = (
    "建国华明伟军平芳秀英丽强磊洋勇艳杰娟涛超霞敏燕玲桂兰志红海春晓东文斌"
    "辉俊峰宇浩婷雪梅慧琴云飞鹏新福根水土林松荣德昌卫忠良永庆美玉凤"
)

COMPOUND_NAMES = (
    "供销社宿舍",
    "粮站宿舍",
    "丝厂宿舍",
    "八都新村",
    "溪畔花园",
    "锦绣家园",
    "龙腾小区",
    "竹苑小区",
    "滨溪公寓",
    "华府花园",
    "金田小区",
    "安居小区",
    "春晖公寓",
    "农机厂宿舍",
    "桂花苑",
    "玉泉小区",
    "和平小区",
    "东岸公寓",
    "翠竹苑",
    "卫生院宿舍",
    "学校教工楼",
    "新街小区",
)

SEAT_ALIASES = (
    ("八都供销社", "供销社门市部"),
    ("老粮站", "粮管所"),
    ("老信用社", "信用社旧址"),
    ("八都豆腐坊",),
    ("老电影院",),
    ("八都卫生所旧址",),
)
"""Shop and old names of houses in the 镇 seat; a house may carry several ("|"-separated)."""
VILLAGE_ALIAS_KINDS = (
    "小卖部",
    "农家乐",
    "五金店",
    "理发店",
    "碾米厂",
    "快递代收点",
    "早餐店",
    "农资店",
    "竹器厂",
    "老村委会",
    "老祠堂",
)
"""Shop and old names in the other villages, prefixed with the short village name."""

INCIDENT_CATEGORIES = ("纠纷", "盗窃", "求助", "交通事故", "诈骗", "噪音扰民", "火警", "其他")
INCIDENT_SHARES = (0.22, 0.15, 0.18, 0.12, 0.08, 0.07, 0.05, 0.13)

INCIDENT_SUMMARIES = {
    "盗窃": (
        "{place}报称电动车被盗",
        "{place}家中现金被盗",
        "{place}晾晒衣物被盗",
        "{place}农用三轮车电瓶被盗",
        "{place}店内手机被盗",
        "{place}鸡鸭被盗",
    ),
    "纠纷": (
        "{place}邻里因宅基地界线发生纠纷",
        "{place}家庭纠纷",
        "{place}因山林权属发生纠纷",
        "{place}因工钱结算发生纠纷",
        "{place}因排水沟堵塞邻里争吵",
        "{place}买卖双方发生口角",
    ),
    "求助": (
        "{place}老人走失求助",
        "{place}钥匙反锁求助",
        "{place}醉酒人员倒地求助",
        "{place}小孩走失求助",
        "{place}车辆陷入水沟求助",
        "{place}蛇进屋求助",
    ),
    "交通事故": (
        "{place}两车刮擦，无人员受伤",
        "{place}电动车与轿车碰撞，一人轻伤",
        "{place}货车与摩托车相撞",
        "{place}车辆侧滑撞护栏",
    ),
    "诈骗": (
        "{place}村民遭冒充客服电信诈骗",
        "{place}网购退款被骗",
        "{place}冒充熟人借钱诈骗",
        "{place}刷单返利诈骗",
    ),
    "噪音扰民": ("{place}夜间广场舞噪音扰民", "{place}装修噪音扰民", "{place}酒后喧哗扰民"),
    "火警": (
        "{place}柴火堆起火",
        "{place}厨房油锅起火",
        "{place}烧荒引发山火",
        "{place}电线短路冒烟",
    ),
    "其他": (
        "{place}可疑人员徘徊",
        "{place}狗咬人",
        "{place}路面积水报告",
        "{place}捡到钱包",
        "{place}山体落石报告",
    ),
}

MARKET_NAME = "八都农贸市场"

# Station-level (一级) patrol points near the 镇 seat, then the 乡 seat.
ZHEN_KEY_SITES = (
    STATION_SHORT_NAME,
    "八都镇人民政府",
    "八都中学",
    "八都中心小学",
    MARKET_NAME,
    "八都卫生院",
    "农商银行八都支行",
    "邮储银行八都营业所",
    "中石化八都加油站",
    "八都汽车站",
    "八都大桥",
)
XIANG_KEY_SITES = ("竹垟畲族乡人民政府", "竹垟小学", "竹垟集贸市场", "竹垟卫生院")
# Beat-level (二级) sites in the 镇 seat.
ZHEN_MINOR_SITES = (
    "八都幼儿园",
    "八都文化广场",
    "八都老年活动中心",
    "八都邮政支局",
    "八都快递驿站",
    "八都网吧",
    "八都KTV",
    "八都居家养老服务中心",
    "八都超市",
    "八都菜场后门",
)
VILLAGE_SITE_KINDS = ("文化礼堂", "祠堂", "幼儿园", "老年食堂", "庙")

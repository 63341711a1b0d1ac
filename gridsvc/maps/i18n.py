"""Words on the map pages, in Chinese (the default) and English."""

from __future__ import annotations

TEXT: dict[str, dict[str, str]] = {
    "zh": {
        "town": "乡镇/街道", "village": "村/社区", "grid": "网格", "station": "派出所",
        "beat": "警务区", "office": "警务室", "walk": "警务室15分钟步行圈",
        "walk_roads": "15分钟步行可达道路", "road": "道路", "camera": "监控点位",
        "patrol_point": "必巡点", "compound": "小区", "incident": "警情", "heat": "警情热力",
        "cluster": "警情点", "rental": "出租房屋", "floating": "流动人口等级",
        "name": "名称", "code": "编码", "id": "编号", "officers": "社区民警",
        "auxiliaries": "辅警", "grid_workers": "网格员", "households": "户数",
        "residents": "人口", "registered": "户籍人口", "floating_n": "流动人口",
        "incidents": "警情数", "rate": "每千户警情", "level": "等级", "phone": "电话",
        "hours": "开放时间", "heading": "朝向(度)", "fov": "视角(度)", "range": "距离(米)",
        "stars": "星级", "category": "类别", "time": "时间", "basemap": "底图",
        "risk_title": "分色预警", "risk_red": "红色", "risk_orange": "橙色",
        "risk_green": "绿色", "per_1000": "每千户警情", "window": "时段",
        "fl_red": "红色", "fl_orange": "橙色", "fl_yellow": "黄色", "fl_blue": "蓝色",
        "fl_title": "流动人口/户籍人口", "coverage_title": "警格网格覆盖",
        "incidents_title": "警情分布", "plan_title": "规划草案", "draft": "草案边界",
        "active": "现行边界", "changed": "变化", "stars_title": "出租房屋星级",
        "unassigned": "未分配", "none": "无",
    },
    "en": {
        "town": "Towns", "village": "Villages", "grid": "Grids", "station": "Stations",
        "beat": "Beats", "office": "Police offices", "walk": "15-minute walk of offices",
        "walk_roads": "Roads within a 15-minute walk", "road": "Roads",
        "camera": "Cameras", "patrol_point": "Patrol points", "compound": "Compounds",
        "incident": "Incidents", "heat": "Incident heat", "cluster": "Incident markers",
        "rental": "Rental houses", "floating": "Floating population level",
        "name": "Name", "code": "Code", "id": "Id", "officers": "Officers",
        "auxiliaries": "Auxiliaries", "grid_workers": "Grid workers", "households": "Households",
        "residents": "Residents", "registered": "Registered", "floating_n": "Floating",
        "incidents": "Incidents", "rate": "Incidents per 1,000 households", "level": "Level",
        "phone": "Phone", "hours": "Opening hours", "heading": "Heading (deg)",
        "fov": "Field of view (deg)", "range": "Range (m)", "stars": "Stars",
        "category": "Category", "time": "Time", "basemap": "Basemap",
        "risk_title": "Risk colour", "risk_red": "red", "risk_orange": "orange",
        "risk_green": "green", "per_1000": "incidents per 1,000 households", "window": "Window",
        "fl_red": "red", "fl_orange": "orange", "fl_yellow": "yellow", "fl_blue": "blue",
        "fl_title": "floating / registered residents", "coverage_title": "Beats and grids",
        "incidents_title": "Incidents", "plan_title": "Draft plan", "draft": "Draft boundaries",
        "active": "Active boundaries", "changed": "Changed", "stars_title": "Rental stars",
        "unassigned": "unassigned", "none": "none",
    },
}


def words(language: str) -> dict[str, str]:
    """The words of one language; unknown languages get Chinese."""
    return TEXT.get(language, TEXT["zh"])

"""How pages and feeds say the states of an event, in Chinese (the code name is English)."""

from __future__ import annotations

#: state -> its word on a page.
STATE_WORDS = {"reported": "已上报", "accepted": "已立案", "rejected": "不予立案",
               "dispatched": "已派遣", "in_hand": "处置中", "returned": "已退回",
               "handled": "已处置", "verified": "已核查", "closed": "已结案"}

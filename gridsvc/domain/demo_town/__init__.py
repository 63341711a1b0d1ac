"""Deterministic, seeded generator of the demo town (八都, 龙泉市, 浙江).

``generate(seed)`` builds the town in memory as a `DemoTown` (one GeoDataFrame in EPSG:4490 per
layer, the people and the expected findings); ``write(town, out_dir)`` writes the files described
in data/README.md. The same seed always gives byte-identical files.

How the town is made (one module per step):

- `geometry`: an irregular outline of 244 km² around 119.0 E, 28.2 N, cut into about 4,000
  Lloyd-relaxed Voronoi "atoms"; cells are coverage unions of atoms, so they tile exactly.
- `roads`, `settlement`: a county road along the main valley, township roads, village roads;
  30 village centres along them and in the hills; a house density mixture around them.
- `cells`: villages grown from the centres, two towns grown over the villages, two grids in the
  nine busiest villages, five beats grown independently (partly following village lines), one
  beat gap and one beat overlap.
- `features`, `houses`, `incidents`, `people`: compounds, offices, about 9,000 houses with
  numbers and people, patrol points, cameras, one year of incidents, people linked to cells.
- `entrances`: one to three gates per compound, facing the nearest road (own generator).
- `tables`, `findings`, `model`, `generator`, `io`: names, codes and ids; the expected findings;
  the in-memory town; assembly; writing.

Ids (see `tables` for the codes): towns "T102" (八都镇) and "T203" (竹垟畲族乡); villages
"V" + town digits + village digits ("V102001" for 八都社区, "V102201".. for the 村); grids
"V..." with "G" and a 3-digit sequence ("G102201001"); station "S01"; beats "B01".."B05" west to
east; offices "O01" (镇) and "O02" (乡); houses "H000001".. by village id, number, sub-number;
compounds "C01".."C20" in reading order; roads "R01" (county), then township roads, streets and
village roads; incidents "INC00001".. in time order; patrol points "PP001"..; cameras "CAM001"..;
compound entrances "EN001".. compound by compound; people "OFF01".. (officers), "AUX01"..
(auxiliaries), "GW001".. (grid workers), "VOL01".. (volunteers). Phones of people are
1990000xxxx (a clearly fake range).

All cell boundaries keep 5 m clear of houses, offices, cameras, patrol points, entrances and
incidents, so the cell of every generated point is unambiguous.
"""

from .generator import DEFAULT_SEED, generate
from .io import write
from .model import COLUMNS, LAYERS, DemoTown

__all__ = ["COLUMNS", "DEFAULT_SEED", "LAYERS", "DemoTown", "generate", "write"]

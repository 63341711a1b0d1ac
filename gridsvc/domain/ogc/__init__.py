"""OGC API Features, the pure parts: the collections served (:mod:`.catalog`), CRS URIs and
axis order (:mod:`.crs`), the ``/items`` parameters (:mod:`.query`), CQL2 to SQL
(:mod:`.filters`), links and documents (:mod:`.documents`) and the OpenAPI 3.0 description
(:mod:`.openapi`). No database, no web: :mod:`gridsvc.services.ogc` puts them to work."""

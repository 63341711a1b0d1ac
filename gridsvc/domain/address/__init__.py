"""Addresses and house numbers: how people write and say them, and how houses get them.

- :mod:`~gridsvc.domain.address.parser`: understand an address the way a caller says it
  (village + house number), :class:`~gridsvc.domain.address.parser.AddressBook`.
- :mod:`~gridsvc.domain.address.house_numbers`: house numbers in digits, Chinese numerals,
  sub-numbers and flats.
- :mod:`~gridsvc.domain.address.spoken_forms`: the ways people say an address (for tests and
  the dispatch benchmark).
- :mod:`~gridsvc.domain.address.numbering`: numbering houses inside a village.
- :mod:`~gridsvc.domain.address.house_register`: the house register (门牌登记) file, checked.
"""

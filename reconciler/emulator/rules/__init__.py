"""Salesforce's rules for setup objects, enforced on every write the emulator takes.

Each rule cites its source in ``salesforce.md``: [doc] Salesforce documents it,
[community] public tools agree, [assumed] no source was found and we chose the
behaviour (and the error text) ourselves. One module per family of sObjects:
``users`` (users and their licences), ``permsets`` (permission sets and their object
and field access), ``entities`` (their setup-entity access), ``assignments``
(permission set and licence assignments), ``groups`` (permission set groups and their
recalculation); ``access`` says what the acting user may do, ``lookups`` holds what the
families share, and ``dispatch`` is the one entry the write pipeline calls.
"""

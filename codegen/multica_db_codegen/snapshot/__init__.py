"""The analysis snapshot: what PostgreSQL said about every query, committed with the project.

``generate`` writes it into ``<project root>/.multica-db/snapshot/`` (one JSON file
per query file, one for the schema's tables and enums, and an index), so that
``generate --check`` on a clone with no PostgreSQL at all can tell whether the
generated code is current: it renders from the snapshot, or — when the index
vouches that nothing the output depends on changed — compares digests only.

Every file records the inputs it was analyzed from (:mod:`.fingerprint`): the
schema's files, the query file, the configuration that shapes analysis and the
generator's version. A file whose inputs changed is *stale*: the check names it and
the command that refreshes it, and never analyzes against nothing.

The modules: :mod:`.fingerprint` (what an analysis depends on, as digests),
:mod:`.document` (IR ⇄ the JSON files, deterministic), :mod:`.files` (where the files
live, reading them with clear errors, writing only what changed).
"""

"""The benchmark's peers: the polls app a Django developer would write instead of Beebeta.

Built the tutorial's way (function views, ``F("votes") + 1`` on the choice, the default
middleware, database sessions, no cache), in two variants that bench/run.py loads beside
Beebeta with the same scripts, on the same MariaDB, gunicorn configuration and nginx:

- "tutorial" (bench.settings_tutorial): exactly the tutorial's vote, anyone votes any number
  of times;
- "dedupe" (bench.settings_dedupe): the same plus a vote row per (user, question), unique, in the
  same transaction as the counter: one vote per person, which is the guarantee that makes a
  peer comparable with Beebeta.

Its tables sit beside Beebeta's in the same database (peer_*), and it reads the same accounts
and sessions, so wrk's voters are signed in to all three.
"""

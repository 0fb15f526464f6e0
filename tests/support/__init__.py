"""What the tests share. Test modules import from here only (never from one another or
from ``tests.conftest``; ``test_guards.py`` checks), and fixtures stay in
``tests/conftest.py``.

* ``spec``       the spec's codes and exact Turkish messages, written once
* ``http``       calling v1 in JSON / XML / the form field, reading envelopes back
* ``actions``    one small valid request per v1 action (for tests over every action)
* ``sms``        send-sms, get-report, cancel-order as a client calls them
* ``runtime``    an instance in process and clients for it; ``settle`` steps the
  background work of instances whose loops do not run
* ``clock``      ``FakeClock``: a clock the test advances
* ``cli``        the ``ileti`` command in process
* ``processes``  real ``ileti serve`` processes
* ``receiver``   a webhook receiver on 127.0.0.1
* ``relay``      an upstream sandbox and a local ileti relaying to it (the relay's tests)
* ``proxy``      a TCP proxy a test cuts and restores (a database out of reach)
* ``disk``       a small tmpfs that really fills up (needs the right to mount)
* ``waiting``    polling for background work (the real-time tests)
* ``stored``     the one module that reads the schema or SQL: stored facts, seen from
  below the API, and the few states tests put the database in
* ``databases``  each test's database: copies of a template migrated once per session
"""

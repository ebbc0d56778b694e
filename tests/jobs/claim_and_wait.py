"""A stand-in worker: claim run N of the store named by NEARMISS_DB, then wait to be stopped.

    NEARMISS_DB=URL python -m tests.jobs.claim_and_wait N
"""
import sys
import time

from nearmiss.jobs.runs import claim
from nearmiss.store import Store, resolve_url

claim(Store(resolve_url()), int(sys.argv[1]), "working")
time.sleep(120)

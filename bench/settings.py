"""Settings of the HTTP benchmark (bench/harness.py): the project's own, with the baseline
routes added (bench.urls), DEBUG off, and the API's per-caller throttles raised so that 32
connections of one caller measure the code, not the limit. Never used outside bench/."""

from kvisa.settings import *  # noqa: F403
from kvisa.settings import API_RATES

DEBUG = False
ROOT_URLCONF = "bench.urls"
# The throttles still run (their Redis round trips are part of every API request's cost);
# only the limits are out of reach.
API_RATES = dict.fromkeys(API_RATES, "100000000/minute")

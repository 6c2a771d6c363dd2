"""The 49 RFC 4475 torture messages (tests/integration/rfc4475/*.dat) sorted by what a UA must do with them."""

from __future__ import annotations

from pathlib import Path

MESSAGES = Path(__file__).parent / "integration" / "rfc4475"
# RFC 4475 section 3: well-formed requests (3.1.1, 3.2, 3.3 and 3.4 ones a UA must take) ...
VALID = [
    "wsinv",
    "intmeth",
    "esc01",
    "escnull",
    "esc02",
    "lwsdisp",
    "longreq",
    "dblreq",
    "semiuri",
    "transports",
    "mpart01",
    "badbranch",
    "unksm2",
    "regaut01",
    "zeromf",
    "cparam01",
    "cparam02",
    "regescrt",
    "inv2543",
]
# ... requests a UA must not accept (3.1.2, and the 3.3 ones answered 4xx: insuf, unkscm, novelsc, bext01,
# invut, multi01, mcl01, sdp01) ...
INVALID = [
    "badinv01",
    "clerr",
    "ncl",
    "scalar02",
    "quotbal",
    "ltgtruri",
    "lwsruri",
    "lwsstart",
    "trws",
    "escruri",
    "baddate",
    "regbadct",
    "badaspec",
    "baddn",
    "badvers",
    "mismatch01",
    "mismatch02",
    "insuf",
    "unkscm",
    "novelsc",
    "bext01",
    "invut",
    "multi01",
    "mcl01",
    "sdp01",
]
# ... and responses, which nobody answers.
RESPONSES = ["unreason", "noreason", "scalarlg", "bigcode", "bcast"]

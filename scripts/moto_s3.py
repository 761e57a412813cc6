#!/usr/bin/env python3
"""moto's S3 server (`moto_server`) with one fidelity fix, for the object storage tests.

moto checks a request's SigV4 signature with botocore's canonical query string built from the
query as it arrives, while S3 itself decodes each parameter and encodes it again (RFC 3986,
`-_.~` unreserved) before comparing. A client that sends `prefix=base/` and signs
`prefix=base%2F`, as object_store does and as S3 accepts, is refused by moto alone; so the
canonical form is computed here as S3 computes it. Nothing else of moto is changed.
"""
from urllib.parse import quote, unquote

from botocore import auth


def _canonical_query_string_url(self, parts):
    if not parts.query:
        return ""
    pairs = []
    for pair in parts.query.split("&"):
        key, _, value = pair.partition("=")
        pairs.append((quote(unquote(key), safe="-_.~"), quote(unquote(value), safe="-_.~")))
    return "&".join(f"{k}={v}" for k, v in sorted(pairs))


auth.SigV4Auth._canonical_query_string_url = _canonical_query_string_url

from moto.server import main  # noqa: E402  (after the fix, which must be in place first)

main()

"""The officer API (/api/v1/): the workspace's operations for programs, one class per operation.

Every view: permission (a scope) → parse → one selector or service → serialize. The rules are
the services' and selectors' — the same as the web workspace's — so the two cannot disagree:
an officer sees the cases of their queues, only the holder decides, refusals go to a second
officer, nobody reviews their own decision. Writes to a case accept ``If-Match`` with the case's
``ETag``; decisions require it (428 without, 412 when stale).

One module a resource: ``queues``, ``cases``, ``decisions``, ``visas``, ``statistics``;
``common`` holds what they share.
"""

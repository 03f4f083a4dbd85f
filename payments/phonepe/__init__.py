"""PhonePe Standard Checkout v2: a small typed client, callback verification and a local simulator.

Protocol reference: docs/phonepe.md (cited by section below). We do not use the official SDK
(docs/phonepe.md §10.2: old pinned requests/urllib3, background threads, no base-URL option, strict enums).
"""

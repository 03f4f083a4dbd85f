"""PhonePe Standard Checkout v2: a small typed client, callback verification and a local simulator.

Protocol reference: /work/shared/docs/phonepe.md (cited by section below). We do not use the
official SDK (phonepe.md §10.2: old pinned requests/urllib3, strict enums, no base-URL option).
"""

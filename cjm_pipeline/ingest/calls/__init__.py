"""Call-tracking formats: ``calltouch``, ``comagic`` and ``callrail``, read by one loop (:mod:`.common`)."""

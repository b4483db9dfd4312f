"""Web analytics formats: ``metrica_visits`` / ``metrica_hits`` (:mod:`.metrica`) and ``ga4`` (:mod:`.ga4`)."""

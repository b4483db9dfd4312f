"""CRM formats: ``amocrm``, ``bitrix24``, ``hubspot`` and ``salesforce`` (helpers they share in :mod:`.common`)."""

"""The only code that talks to Salesforce: the client, SOQL building, reads and writes.

- :mod:`reconciler.org.client`: :class:`~reconciler.org.client.OrgClient`, the one
  wrapper of simple-salesforce (auth flows, retries, session refresh, call accounting);
- :mod:`reconciler.org.soql`: query text with escaping, and IN lists split to fit.
"""

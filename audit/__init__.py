"""The audit trail: who changed what, when, from where, and through which door (docs/security.md).

django-auditlog records the changes; this app says which models it tracks (``registry``), keeps
secret fields to "changed" (``secret_fields``), and ties each change to its source: a web
request (``middleware``), a management command (``commands``) or a django-q2 task, which keeps
the person who queued it (``tasks``).
"""

from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "audit"
    verbose_name = "Audit trail"

    def ready(self):
        from audit import commands, registry, tasks

        registry.track_models()
        commands.audit_commands()
        tasks.connect()

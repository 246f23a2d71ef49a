"""The integration form: coverage, connection, write-only credentials, files and schedule.

Secrets are never sent to the browser. Each one has a password box that is always empty
(blank keeps the stored value, a new value replaces it) and a checkbox that removes it; the
page says only whether one is stored. Changing the credentials, or the server they are for,
forgets the cached access token, so the next call asks for a new one.
"""

from django import forms
from django.db import models
from django.utils.html import format_html

from uploads.models import RaptorMapsIntegration
from uploads.secrets import Secret

__all__ = ["SECRET_FIELDS", "RaptorMapsIntegrationForm", "secret_status", "url_formfield"]

# The write-only secrets of an integration, with the label people know them by.
SECRET_FIELDS = {"api_token": "API token", "client_secret": "client secret"}
# What the cached access token was obtained with: changing any of them makes it useless.
TOKEN_SOURCES = ("client_id", "base_url")
SECRET_HELP = "Stored encrypted. Leave blank to keep the current value."
NEW_SECRET_HELP = "Stored encrypted, and never shown again."


def secret_status(secret):
    """('stored' | 'not set' | 'unreadable', words for people) of a stored secret."""
    if not secret:
        return "not set", "not set"
    if secret.error:
        return "unreadable", "stored but unreadable with the current key — enter it again"
    return "stored", "stored"


def url_formfield(db_field, **kwargs):
    """Model fields to form fields, a URL typed without a scheme taken as https."""
    if isinstance(db_field, models.URLField):
        kwargs.setdefault("assume_scheme", "https")
    return db_field.formfield(**kwargs)


class SecretInput(forms.PasswordInput):
    """A password box that never shows a value, what is stored, and (when one is) a box to remove it.

    The "remove" checkbox is the form's ``clear_<name>`` field, drawn here so it sits under
    the secret it removes.
    """

    def __init__(self, status=("not set", "not set"), clear=None, attrs=None):
        super().__init__(attrs={"autocomplete": "new-password", **(attrs or {})}, render_value=False)
        self.status = status
        self.clear = clear  # (field name, label) when a stored value can be removed

    def render(self, name, value, attrs=None, renderer=None):
        box = super().render(name, None, attrs, renderer)
        state, words = self.status
        clear = ""
        if self.clear:
            clear_name, label = self.clear
            clear = format_html(
                '<label class="secret-clear" for="id_{}"><input type="checkbox" name="{}" id="id_{}"> {}</label>',
                clear_name,
                clear_name,
                clear_name,
                label,
            )
        return format_html(
            '<div class="secret-widget">{}<span class="secret-status secret-{}">{}</span>{}</div>',
            box,
            state.replace(" ", "-"),
            words,
            clear,
        )


class RaptorMapsIntegrationForm(forms.ModelForm):
    api_token = forms.CharField(
        label="API token",
        required=False,
        strip=True,
        help_text=f"{SECRET_HELP} A ready token, sent as Bearer; not used when a client ID is given.",
    )
    clear_api_token = forms.BooleanField(label="remove the stored API token", required=False)
    client_secret = forms.CharField(label="Client secret", required=False, strip=True, help_text=SECRET_HELP)
    clear_client_secret = forms.BooleanField(label="remove the stored client secret", required=False)

    class Meta:
        model = RaptorMapsIntegration
        formfield_callback = url_formfield
        fields = [
            "name",
            "portfolio",
            "farms",
            "base_url",
            "org_id",
            "integration_id",
            "client_id",
            "time_basis",
            "part_bytes",
            "upload_interval_seconds",
            "enabled",
        ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in SECRET_FIELDS:
            if not self.instance.pk:  # nothing stored yet, nothing to keep
                self.fields[name].help_text = self.fields[name].help_text.replace(SECRET_HELP, NEW_SECRET_HELP)
            stored = self._stored(name)
            clear = f"clear_{name}"
            self.fields[name].widget = SecretInput(
                status=secret_status(stored), clear=(clear, self.fields[clear].label) if stored else None
            )

    def _stored(self, name):
        return getattr(self.instance, name) if self.instance.pk else Secret("")

    def clean(self):
        cleaned = super().clean()
        self._check_coverage(cleaned)
        changed = self._apply_secrets(cleaned)
        if changed or any(name in self.changed_data for name in TOKEN_SOURCES):
            self.instance.access_token = Secret("")
            self.instance.access_token_expires_at = None
        return cleaned

    def _check_coverage(self, cleaned):
        if "portfolio" not in self.fields or "farms" not in self.fields:
            return
        portfolio, farms = cleaned.get("portfolio"), cleaned.get("farms")
        if portfolio and farms:
            self.add_error(
                "farms",
                "Choose a portfolio or farms, not both: a portfolio already covers every one of its farms.",
            )
        elif not portfolio and not farms and not self.has_error("farms") and not self.has_error("portfolio"):
            self.add_error("portfolio", "Choose a portfolio, or the farms whose readings this integration sends.")

    def _apply_secrets(self, cleaned):
        """Put new and removed secrets on the instance (so the model's clean() sees them); whether any changed."""
        changed = False
        for name, label in SECRET_FIELDS.items():
            value, clear = cleaned.get(name), cleaned.get(f"clear_{name}")
            if value and clear:
                self.add_error(name, f"Enter a new {label} or remove the stored one, not both.")
            elif value:
                setattr(self.instance, name, Secret(value))
                changed = True
            elif clear and self._stored(name):
                setattr(self.instance, name, Secret(""))
                changed = True
        return changed

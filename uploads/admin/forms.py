"""The forms of integrations and accounts: connection, write-only credentials, schedule.

Secrets are never sent to the browser. Each one has a password box that is always empty
(blank keeps the stored value, a new value replaces it) and, where the object can do without
it, a checkbox that removes it; the page says only whether one is stored. Changing the
credentials, or the server they are for, forgets the cached access token, so the next call
asks for a new one.
"""

from django import forms
from django.db import models
from django.utils.html import format_html
from django.views.decorators.debug import sensitive_variables

from uploads.models import RaptorMapsIntegration, WattCarbonAccount
from uploads.secrets import Secret

__all__ = [
    "SECRET_FIELDS",
    "RaptorMapsIntegrationForm",
    "WattCarbonAccountForm",
    "WriteOnlySecretsForm",
    "secret_status",
    "url_formfield",
]

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


def secret_formfield(label, help_text=""):
    """The form field of a write-only secret (its widget is set by the form, which knows what is stored)."""
    return forms.CharField(label=label, required=False, strip=True, help_text=f"{SECRET_HELP} {help_text}".strip())


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


class WriteOnlySecretsForm(forms.ModelForm):
    """A model form whose secrets are write-only, and whose cached access token goes when its sources change.

    Subclasses declare each secret's form field (``secret_formfield``) and, for a secret that
    may be removed, a ``clear_<name>`` checkbox; ``secrets`` names them, ``token_sources`` names
    the other fields the cached token was obtained with.
    """

    secrets = {}  # field name → the label people know it by
    token_sources = ()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in self.secrets:
            field = self.fields[name]
            if not self.instance.pk:  # nothing stored yet, nothing to keep
                field.help_text = field.help_text.replace(SECRET_HELP, NEW_SECRET_HELP)
            stored = self._stored(name)
            clear = f"clear_{name}"
            removable = clear in self.fields and stored
            field.widget = SecretInput(
                status=secret_status(stored), clear=(clear, self.fields[clear].label) if removable else None
            )

    def _stored(self, name):
        return getattr(self.instance, name) if self.instance.pk else Secret("")

    # cleaned_data holds the secrets typed in: an error report shows these locals as stars.
    @sensitive_variables("cleaned")
    def clean(self):
        cleaned = super().clean()
        changed = self._apply_secrets(cleaned)
        if changed or any(name in self.changed_data for name in self.token_sources):
            self.instance.access_token = Secret("")
            self.instance.access_token_expires_at = None
        return cleaned

    @sensitive_variables("cleaned", "value")
    def _apply_secrets(self, cleaned):
        """Put new and removed secrets on the instance (so the model's clean() sees them); whether any changed."""
        changed = False
        for name, label in self.secrets.items():
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


# The write-only secrets of a Raptor Maps integration, with the label people know them by.
SECRET_FIELDS = {"api_token": "API token", "client_secret": "client secret"}


class RaptorMapsIntegrationForm(WriteOnlySecretsForm):
    api_token = secret_formfield("API token", "A ready token, sent as Bearer; not used when a client ID is given.")
    clear_api_token = forms.BooleanField(label="remove the stored API token", required=False)
    client_secret = secret_formfield("Client secret")
    clear_client_secret = forms.BooleanField(label="remove the stored client secret", required=False)

    secrets = SECRET_FIELDS
    token_sources = ("client_id", "base_url")

    class Meta:
        model = RaptorMapsIntegration
        formfield_callback = url_formfield
        # The model's words name the API's fields; the page says what they mean.
        labels = {"time_basis": "times in the CSV are in"}
        help_texts = {
            "org_id": "Sent with every API call when set.",
            "upload_interval_seconds": "Blank: the interval Raptor Maps asks for, else 15 minutes.",
        }
        fields = [
            "name",
            "portfolio",
            "farms",
            "base_url",
            "org_id",
            "integration_id",
            "user_agent",
            "client_id",
            "time_basis",
            "part_bytes",
            "upload_interval_seconds",
            "enabled",
        ]

    @sensitive_variables("cleaned")
    def clean(self):
        cleaned = super().clean()
        self._check_coverage(cleaned)
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


class WattCarbonAccountForm(WriteOnlySecretsForm):
    """The API key is the account's only credential: required when the account is added, never removed."""

    api_key = secret_formfield("API key", "From the account's settings page on WattCarbon.")

    secrets = {"api_key": "API key"}
    # The token belongs to a user (email and API key) on one server.
    token_sources = ("email", "base_url")

    class Meta:
        model = WattCarbonAccount
        formfield_callback = url_formfield
        fields = [
            "name",
            "portfolio",
            "base_url",
            "account_id",
            "email",
            "user_agent",
            "sync_interval_seconds",
            "chunk_rows",
            "upload_concurrency",
            "enabled",
        ]

    MISSING_KEY = "Enter the account's API key: WattCarbon gives a token only for it."

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not self._stored("api_key"):
            api_key = self.fields["api_key"]
            api_key.required = True
            api_key.error_messages["required"] = self.MISSING_KEY

    @sensitive_variables("cleaned")
    def clean(self):
        cleaned = super().clean()
        if not self.instance.api_key and not self.has_error("api_key"):
            self.add_error("api_key", self.MISSING_KEY)
        return cleaned

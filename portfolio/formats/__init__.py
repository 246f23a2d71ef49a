"""The admin's date and time formats (settings.FORMAT_MODULE_PATH): ISO 8601 style, zone named."""

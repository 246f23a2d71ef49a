"""Talking to the outside world, for both services: the one HTTP client and its attempts, the
transport and the outbound rules, redaction, tokens, error answers in words, numbers as sent."""

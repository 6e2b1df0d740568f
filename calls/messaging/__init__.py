"""The one way out: every message to a patient or staff member leaves through `send`."""

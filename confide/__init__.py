"""Confide: contact-tracing case management that keeps the confidences people give it."""

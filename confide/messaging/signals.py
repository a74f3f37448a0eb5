"""message_state_changed(message_id, state): sent after a message's outcome is recorded, so other
areas (a contact's notification state, a tracer's view) follow without messaging knowing them."""

from django.dispatch import Signal

message_state_changed = Signal()

"""message_state_changed(message_id, state, person_id): sent after a message's outcome is
recorded, so other areas (a contact's notification state, a tracer's view) follow without
messaging knowing them. person_id is None for messages to staff."""

from django.dispatch import Signal

message_state_changed = Signal()

"""processing: cases, workflow state, deadlines and the officer API."""

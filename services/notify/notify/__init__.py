"""notify: templates, messages to citizens by SMS, Zalo and email, and their delivery receipts."""

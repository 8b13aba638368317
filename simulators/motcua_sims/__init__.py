"""Stand-ins for the suite's outside parties: the bank, the postal operator and the SMS/Zalo gateway."""

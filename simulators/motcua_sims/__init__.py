"""Stand-ins for the suite's outside parties: the bank, the postal operator, the SMS/Zalo gateway and the national public service portal (DVCQG)."""
